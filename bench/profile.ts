/**
 * Where the start-up of `filefield shell -c 1` goes: one run under `node --cpu-prof`, its samples' time
 * summed by where the code comes from (Node's own modules, each package, filefield's modules, the project's
 * bundles, V8's garbage collector and the idle time spent waiting, e.g. for esbuild's service).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../bin/filefield.js', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface CpuProfile {
  nodes: { id: number; callFrame: { url: string; functionName: string } }[];
  samples: number[];
  timeDeltas: number[];
}

/** The group a frame's time is counted under. */
function groupOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(V8 and native code)';
  if (url.startsWith('node:internal/modules')) return "node's module loader (node:internal/modules)";
  if (url.startsWith('node:')) return 'node: other built-in modules';
  const packageMatch = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (packageMatch) return `package ${packageMatch[1]}`;
  if (/\.filefield-\d+-[0-9a-f]+\.mjs$/.test(url)) return 'project files (bundles)';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  if (path.startsWith(ROOT)) return `filefield ${path.slice(ROOT.length).split('/').slice(0, 2).join('/')}`;
  return path;
}

export function profileShellStartup(report: (line: string) => void, cwd: string): void {
  const folder = mkdtempSync(join(tmpdir(), 'filefield-profile-'));
  try {
    mkdirSync(cwd, { recursive: true });
    const result = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', folder, '--cpu-prof-interval', '100', CLI, 'shell', '-c', '1'], { cwd, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`shell -c 1 under --cpu-prof exited with ${result.status}: ${result.stderr}`);
    const profile = JSON.parse(readFileSync(join(folder, readdirSync(folder)[0]!), 'utf8')) as CpuProfile;
    const groupById = new Map(profile.nodes.map((node) => [node.id, groupOf(node.callFrame.url, node.callFrame.functionName)]));
    const totals = new Map<string, number>();
    let all = 0;
    profile.samples.forEach((id, index) => {
      const micros = profile.timeDeltas[index] ?? 0;
      all += micros;
      const group = groupById.get(id)!;
      totals.set(group, (totals.get(group) ?? 0) + micros);
    });
    report(`profiled: ${(all / 1000).toFixed(0)} ms from the first to the last sample (the process's own start and exit come on top)`);
    for (const [group, micros] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
      report(`  ${(micros / 1000).toFixed(1).padStart(6)} ms  ${((micros / all) * 100).toFixed(0).padStart(3)}%  ${group}`);
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
