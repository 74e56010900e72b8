// FileSystemStorage across processes: concurrent savers never overwrite each other, and a save killed
// in the middle leaves nothing under its final name.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileSystemStorage } from '../src/index.ts';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const support = (script: string) => fileURLToPath(new URL(`./support/${script}`, import.meta.url));
const TEMPORARY_PREFIX = '.filefield-tmp-';
const MiB = 1024 * 1024;

let scratch: string;

before(() => {
  scratch = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), 'filefield-processes-')));
});

after(() => {
  fs.rmSync(scratch, { recursive: true, force: true });
});

function startChild(script: string, args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', support(script), ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs a child to its end; resolves with its stdout, rejects with its stderr on a non-zero exit. */
function runChild(script: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = startChild(script, args);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (data) => (stdout += data));
    child.stderr!.on('data', (data) => (stderr += data));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${script} exited with ${code ?? signal}: ${stderr}`));
    });
  });
}

test('4 processes saving one name 50 times each: 200 distinct files, each holding the bytes of one save', async () => {
  const location = join(scratch, 'many');
  fs.mkdirSync(location);
  const tags = ['alpha', 'bravo', 'charlie', 'delta'];
  const outputs = await Promise.all(tags.map((tag) => runChild('save-many.ts', [location, 'shared/same-name.txt', '50', tag])));
  const reported = outputs.flatMap((output) => JSON.parse(output) as string[]);
  assert.equal(reported.length, 200);
  assert.equal(new Set(reported).size, 200, 'every save got its own name');

  const storage = new FileSystemStorage({ location });
  const [dirs, files] = await storage.listdir('shared');
  assert.deepEqual(dirs, []);
  assert.equal(files.length, 200);
  assert.deepEqual([...files].sort(), reported.map((name) => name.slice('shared/'.length)).sort());
  assert.ok(files.includes('same-name.txt'));
  for (const file of files) assert.match(file, /^same-name(_[A-Za-z0-9]{7})?\.txt$/);

  const expected = new Set(tags.flatMap((tag) => Array.from({ length: 50 }, (_, index) => `${tag}-${index}`)));
  const seen = new Set<string>();
  for (const file of files) {
    const content = fs.readFileSync(join(location, 'shared', file), 'utf8');
    assert.ok(expected.has(content), `${file} holds ${JSON.stringify(content)}, which no save wrote`);
    assert.ok(!seen.has(content), `two files hold ${JSON.stringify(content)}`);
    seen.add(content);
  }
  assert.equal(seen.size, 200);
  assert.deepEqual(fs.readdirSync(join(location, 'shared')).filter((entry) => entry.startsWith(TEMPORARY_PREFIX)), []);
});

test('a save killed with SIGKILL in the middle leaves no file under its final name', async () => {
  const location = join(scratch, 'killed');
  fs.mkdirSync(location);
  const child = startChild('slow-save.ts', [location, 'uploads/big.bin']);
  let stderr = '';
  child.stderr!.on('data', (data) => (stderr += data));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
  });

  try {
    await new Promise<void>((resolve, reject) => {
      let stdout = '';
      child.stdout!.on('data', (data) => {
        stdout += data;
        if (stdout.includes('started\n')) resolve();
      });
      child.on('close', () => reject(new Error(`the child ended before starting: ${stderr}`)));
    });

    // Wait until more than 1 MiB has been written to the temporary file.
    const folder = join(location, 'uploads');
    const deadline = Date.now() + 30_000;
    for (;;) {
      assert.ok(Date.now() < deadline, 'the child never wrote 1 MiB');
      const temporary = fs.existsSync(folder)
        ? fs.readdirSync(folder).filter((entry) => entry.startsWith(TEMPORARY_PREFIX))
        : [];
      const written = temporary.reduce((sum, entry) => {
        try {
          return sum + fs.statSync(join(folder, entry)).size;
        } catch {
          return sum;
        }
      }, 0);
      if (written > MiB) break;
      await new Promise((done) => setTimeout(done, 10));
    }
    assert.equal(fs.existsSync(join(folder, 'big.bin')), false, 'nothing under the final name while writing');
  } finally {
    child.kill('SIGKILL');
  }
  const { signal } = await exited;
  assert.equal(signal, 'SIGKILL');

  const storage = new FileSystemStorage({ location });
  assert.equal(await storage.exists('uploads/big.bin'), false);
  assert.deepEqual(await storage.listdir('uploads'), [[], []], 'listdir() shows neither the file nor the leftover');
  const leftovers = fs.readdirSync(join(location, 'uploads'));
  assert.ok(leftovers.every((entry) => entry.startsWith(TEMPORARY_PREFIX)), `unexpected files: ${leftovers.join(', ')}`);

  // The name is still free for the next save.
  assert.equal(await storage.save('uploads/big.bin', new Uint8Array([1, 2, 3])), 'uploads/big.bin');

  // The killed save's temporary file is removed by the clean-up (filefield check runs it); a save of a live
  // process (this one) is left alone.
  assert.ok(leftovers.length > 0, 'the killed save left its temporary file');
  const ours = join(location, 'uploads', `${TEMPORARY_PREFIX}${process.pid}-inprogress00000`);
  fs.writeFileSync(ours, 'a save under way');
  assert.deepEqual((await storage.removeAbandonedTemporaryFiles()).sort(), leftovers.map((entry) => `uploads/${entry}`).sort());
  assert.deepEqual(fs.readdirSync(join(location, 'uploads')).sort(), ['big.bin', `${TEMPORARY_PREFIX}${process.pid}-inprogress00000`].sort());
});
