// The memory a large save costs: a 512 MiB save from a file descriptor grows the process's peak RSS by at
// most 16 MiB (the pieces in flight), measured in a child process by the kernel's own high-water mark.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runChild } from './support/child.ts';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REPO = join(import.meta.dirname, '..');
const MiB = 1024 * 1024;

test('a 512 MiB save from a file descriptor costs at most 16 MiB of peak RSS', { timeout: 120_000, skip: process.platform !== 'linux' && 'needs /proc' }, async (t) => {
  const folder = mkdtempSync(join(tmpdir(), 'filefield-memory-'));
  try {
    const source = join(folder, 'source.bin');
    writeFileSync(source, '');
    truncateSync(source, 512 * MiB); // sparse: reads as zeros without taking the disk
    const script = `
      import { openSync, readFileSync, writeFileSync } from 'node:fs';
      const { ContentFile, File, FileSystemStorage } = await import(${JSON.stringify(join(REPO, 'src/index.ts'))});
      const storage = new FileSystemStorage({ location: ${JSON.stringify(join(folder, 'media'))} });
      await storage.save('warm-up.txt', new ContentFile('loads the code a save runs'));
      const peak = () => Number(/VmHWM:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
      writeFileSync('/proc/self/clear_refs', '5'); // the high-water mark starts again from the current RSS
      const before = peak();
      await storage.save('large.bin', new File(openSync(${JSON.stringify(source)}, 'r')));
      console.log(JSON.stringify({ growth: peak() - before, size: await storage.size('large.bin') }));
    `;
    const { code, stdout, stderr } = await runChild(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO });
    assert.equal(code, 0, stderr);
    const { growth, size } = JSON.parse(stdout) as { growth: number; size: number };
    assert.equal(size, 512 * MiB);
    assert.ok(growth <= 16 * MiB, `peak RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
    t.diagnostic(`peak RSS growth: ${(growth / MiB).toFixed(1)} MiB`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});
