/**
 * Start-up cost of the shell: wall time of `node bin/filefield.js shell -c 1`, from spawning the process
 * to its exit, in an empty folder (so the bundled example project is loaded, models included).
 * Reference points are measured alongside, so a slow figure can be told apart from a slow machine.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../bin/filefield.js', import.meta.url));
const RUNS = 10;

function wallTimeMs(args: string[], cwd: string): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const elapsed = performance.now() - started;
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited with ${result.status}: ${result.stderr}`);
  return elapsed;
}

function summary(times: number[]): string {
  const sorted = [...times].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  const median = sorted.length % 2 ? sorted[Math.floor(middle)]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return `min ${sorted[0]!.toFixed(0)} ms, median ${median.toFixed(0)} ms`;
}

function measure(args: string[], cwd: string): number[] {
  wallTimeMs(args, cwd); // warm-up: tsx's transform cache, the file system cache
  return Array.from({ length: RUNS }, () => wallTimeMs(args, cwd));
}

export async function benchShell(report: (line: string) => void): Promise<void> {
  const cwd = mkdtempSync(join(tmpdir(), 'filefield-bench-shell-'));
  try {
    report(`shell -c 1: ${summary(measure([CLI, 'shell', '-c', '1'], cwd))} (${RUNS} runs after a warm-up)`);
    report(`  for reference: shell --no-imports -c 1: ${summary(measure([CLI, 'shell', '--no-imports', '-c', '1'], cwd))}; `
      + `--help: ${summary(measure([CLI, '--help'], cwd))}; node -e 0: ${summary(measure(['-e', '0'], cwd))}`);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}
