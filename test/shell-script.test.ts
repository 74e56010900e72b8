// `filefield shell -c CODE` and scripts on standard input, through the real CLI, in a temporary
// working directory (no filefield.config.* there, so the bundled example project is used).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSshd } from './support/sshd.ts';

const CLI = fileURLToPath(new URL('../bin/filefield.js', import.meta.url));
const IMAGE = fileURLToPath(new URL('../fixtures/image.png', import.meta.url));
const STORED_NAME = /profile_pics\/[0-9a-f-]{36}\.png/;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let root: string;

before(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'filefield-shell-script-')));
});

after(() => {
  rmSync(root, { recursive: true, force: true });
});

/** A fresh, empty working directory for one test. */
function workDir(): string {
  return mkdtempSync(join(root, 'run-'));
}

function shell(args: string[], options: { cwd: string; stdin?: string }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.FILEFIELD_SETTINGS;
    const child = spawn(process.execPath, [CLI, 'shell', ...args], { cwd: options.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`shell ${args.join(' ')} did not finish in 30 s; stdout: ${stdout}; stderr: ${stderr}`));
    }, 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

/** The outcome expected of a run: its status, its whole standard output, and what standard error shows. */
function assertRun(run: Run, expected: { code: number; stdout?: string; stderr?: RegExp }): void {
  if (expected.stdout !== undefined) assert.equal(run.stdout, expected.stdout);
  if (expected.stderr) assert.match(run.stderr, expected.stderr);
  assert.equal(run.code, expected.code, run.stderr);
}

test('-c runs the code and exits 0, printing only what the code prints', async () => {
  const run = await shell(['-c', 'console.log(1 + 1)'], { cwd: workDir() });
  assert.equal(run.stderr, '');
  assert.equal(run.stdout, '2\n');
  assert.equal(run.code, 0);
});

test('`await using` works on every supported Node (lowered where Node lacks it); the file is closed after the input', async () => {
  const run = await shell(['-c', [
    'await using image = await File.open(sampleImage); globalThis.kept = image; console.log(image.size, image.closed)',
    'console.log(kept.closed)',
  ].join('\n')], { cwd: workDir() });
  assert.equal(run.stderr, '');
  assert.equal(run.stdout, `${statSync(IMAGE).size} false\ntrue\n`);
  assert.equal(run.code, 0);
});

test('-c: an uncaught error goes to stderr, stops the code and gives status 1', async () => {
  const run = await shell(['-c', "console.log('before')\nthrow new Error('boom')\nconsole.log('after')"], { cwd: workDir() });
  assert.equal(run.stdout, 'before\n');
  assert.match(run.stderr, /Uncaught Error: boom/);
  assert.equal(run.code, 1);
});

test('-c: a syntax error gives status 1', async () => {
  const run = await shell(['-c', 'let = = 3'], { cwd: workDir() });
  assert.match(run.stderr, /SyntaxError/);
  assert.equal(run.code, 1);
});

test('-c: top-level await, and TypeScript', async () => {
  const run = await shell(['-c', 'const n: number = await Promise.resolve(41)\nconsole.log(n + 1)'], { cwd: workDir() });
  assert.equal(run.stderr, '');
  assert.equal(run.stdout, '42\n');
  assert.equal(run.code, 0);
});

test('-c: a rejected promise, awaited or only the value of a statement, is an uncaught error', async () => {
  const awaited = await shell(['-c', "await Promise.reject(new Error('nope'))"], { cwd: workDir() });
  assert.match(awaited.stderr, /Uncaught Error: nope/);
  assert.equal(awaited.code, 1);
  const bare = await shell(['-c', "Promise.reject(new Error('bare'))\nconsole.log('not reached')"], { cwd: workDir() });
  assert.match(bare.stderr, /Uncaught Error: bare/);
  assert.equal(bare.stdout, '');
  assert.equal(bare.code, 1);
});

test('-c: a promise that can never settle is reported, not left to end the process silently', async () => {
  const run = await shell(['-c', 'new Promise(() => {})'], { cwd: workDir() });
  assert.match(run.stderr, /never settle/);
  assert.equal(run.code, 1);
});

test("stdin: the article's session without await runs statement by statement", async () => {
  const cwd = workDir();
  const script = [
    `const f = fs.openSync(${JSON.stringify(IMAGE)})`,
    'const profile = new Profile()',
    "profile.picture.save('my-image.png', new File(f))",
    'console.log(profile.picture.name)',
    'console.log(profile.picture.path)',
    'console.log(profile.picture.url)',
    'console.log((await Profile.objects.last()).picture.url)',
  ].join('\n');
  const run = await shell([], { cwd, stdin: script });
  assert.equal(run.stderr, '');
  assert.equal(run.code, 0);
  const [name, path, url, lastUrl] = run.stdout.trimEnd().split('\n');
  assert.match(name!, new RegExp(`^${STORED_NAME.source}$`));
  assert.equal(path, join(cwd, 'media', name!));
  assert.equal(url, `/media/${name}`);
  assert.equal(lastUrl, url);
  assert.ok(existsSync(path!));
  assert.match(readFileSync(join(cwd, 'db.json'), 'utf8'), STORED_NAME);
});

test('stdin: multi-line statements, TypeScript, chained calls on the next line, top-level await', async () => {
  const script = [
    'interface Point {',
    '  x: number',
    '  y: number',
    '}',
    'function norm(p: Point): number {',
    '  return Math.hypot(p.x, p.y)',
    '}',
    'const point = { x: 3, y: 4 } as Point',
    'const length = await Promise.resolve(norm(point))',
    'console.log(length)',
    'Promise.resolve(2)',
    '  .then((v) => console.log(v * 21))',
  ].join('\n');
  const run = await shell([], { cwd: workDir(), stdin: script });
  assert.equal(run.stderr, '');
  assert.equal(run.stdout, '5\n42\n');
  assert.equal(run.code, 0);
});

test('stdin: the first uncaught error stops the script with status 1, printed on stderr', async () => {
  const run = await shell([], { cwd: workDir(), stdin: "console.log('one')\nnoSuchName\nconsole.log('two')\n" });
  assert.equal(run.stdout, 'one\n');
  assert.match(run.stderr, /Uncaught ReferenceError: noSuchName is not defined/);
  assert.equal(run.code, 1);
});

test('stdin: input that never ends its statement is a syntax error', async () => {
  const run = await shell([], { cwd: workDir(), stdin: 'function open() {\n  return 1\n' });
  assert.match(run.stderr, /SyntaxError/);
  assert.equal(run.code, 1);
});

test('--no-imports leaves the models and the other preloads undefined', async () => {
  const run = await shell(['--no-imports', '-c', 'console.log(typeof Profile, typeof storage, typeof settings, typeof ContentFile)'], { cwd: workDir() });
  assert.equal(run.stderr, '');
  assert.equal(run.stdout, 'undefined undefined undefined undefined\n');
  assert.equal(run.code, 0);
});

test('the preloads are there without --no-imports', async () => {
  const run = await shell(['-c', 'console.log(typeof Profile, typeof storage.save, typeof settings.MEDIA_ROOT, typeof ContentFile, typeof models)'], { cwd: workDir() });
  assert.equal(run.stdout, 'function function string function object\n');
  assert.equal(run.code, 0);
});

test('--sandbox writes nothing to the real media folder and database, and deletes its copies', async () => {
  const cwd = workDir();
  const save = [
    `const profile = new Profile()`,
    `await profile.picture.save('first.png', new File(fs.openSync(${JSON.stringify(IMAGE)})))`,
  ].join('\n');
  const real = await shell([], { cwd, stdin: save });
  assert.equal(real.code, 0, real.stderr);
  const databaseBefore = readFileSync(join(cwd, 'db.json'), 'utf8');
  const mediaBefore = readdirSync(join(cwd, 'media', 'profile_pics'));

  const sandboxed = await shell(['--sandbox'], {
    cwd,
    stdin: [
      'console.log(settings.MEDIA_ROOT)',
      'console.log(await Profile.objects.count())',
      save,
      "profile.picture.save('second.png', new File(fs.openSync(" + JSON.stringify(IMAGE) + ')))',
      'console.log(await Profile.objects.count())',
      "console.log(fs.readdirSync(path.join(settings.MEDIA_ROOT, 'profile_pics')).length)",
    ].join('\n'),
  });
  assert.equal(sandboxed.stderr, '');
  assert.equal(sandboxed.code, 0);
  const [mediaRoot, countBefore, countAfter, filesAfter] = sandboxed.stdout.trimEnd().split('\n');
  assert.notEqual(mediaRoot, join(cwd, 'media'));
  assert.equal(countBefore, '1', 'the sandbox starts from a copy of the real rows');
  assert.equal(countAfter, '2');
  assert.equal(filesAfter, '3', 'the copy of the real file and the two saved in the sandbox');
  assert.equal(readFileSync(join(cwd, 'db.json'), 'utf8'), databaseBefore);
  assert.deepEqual(readdirSync(join(cwd, 'media', 'profile_pics')), mediaBefore);
  assert.equal(existsSync(mediaRoot!), false, 'the sandbox is deleted on exit');
});

test('--sandbox in an empty project creates no media folder and no database there', async () => {
  const cwd = workDir();
  const run = await shell(['--sandbox', '-c', `const p = new Profile()\nawait p.picture.save('x.png', new File(fs.openSync(${JSON.stringify(IMAGE)})))`], { cwd });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(readdirSync(cwd), []);
});

test('a settings file that does not exist is an error with status 1', async () => {
  const run = await shell(['--settings', 'missing.config.ts', '-c', '1'], { cwd: workDir() });
  assert.match(run.stderr, /missing\.config\.ts does not exist/);
  assert.equal(run.code, 1);
});

test('--sandbox: the copies are deleted when the script is ended by SIGTERM', async () => {
  const env = { ...process.env };
  delete env.FILEFIELD_SETTINGS;
  const child = spawn(process.execPath, [CLI, 'shell', '--sandbox', '-c', 'console.log(settings.MEDIA_ROOT)\nawait new Promise((resolve) => setTimeout(resolve, 60_000))'], {
    cwd: workDir(),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const closed = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('close', (code, signal) => resolve(code ?? signal)));
  let stdout = '';
  const mediaRoot = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no output in 30 s: ${stdout}`)), 30_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes('\n')) {
        clearTimeout(timer);
        resolve(stdout.split('\n')[0]!);
      }
    });
  });
  assert.equal(existsSync(mediaRoot), true);
  child.kill('SIGTERM');
  assert.equal(await closed, 128 + 15);
  assert.equal(existsSync(mediaRoot), false);
});

test('serve() starts the server in the background: the page and a saved picture are served', async () => {
  const code = [
    `const profile = new Profile()`,
    `await profile.picture.save('my-image.png', new File(fs.openSync(${JSON.stringify(IMAGE)})))`,
    `const server = await serve({ port: 0 })`,
    `const page = await fetch(server.url)`,
    `const picture = await fetch(new URL(profile.picture.url, server.url))`,
    `console.log(page.status, picture.status, picture.headers.get('content-type'), (await picture.arrayBuffer()).byteLength)`,
    `await server.close()`,
  ].join('\n');
  const run = await shell(['-c', code], { cwd: workDir() });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^filefield serve: media and uploads at http:\/\/127\.0\.0\.1:\d+\//m);
  assert.match(run.stdout, new RegExp(`^200 200 image/png ${readFileSync(IMAGE).byteLength}$`, 'm'));
});

test('after the last line, the script waits for the timers it started, as node does', async () => {
  const run = await shell(['-c', "setTimeout(() => console.log('later'), 200)\nconsole.log('last line')"], { cwd: workDir() });
  assertRun(run, { code: 0, stdout: 'last line\nlater\n', stderr: /^$/ });
});

test('a save started and not awaited (fire and forget) still stores its file and row', async () => {
  const cwd = workDir();
  const run = await shell([], { cwd, stdin: `void new Profile().picture.save('a.png', new File(fs.openSync(${JSON.stringify(IMAGE)})))\n` });
  assert.equal(run.stderr, '');
  assert.equal(run.code, 0);
  const [stored] = readdirSync(join(cwd, 'media', 'profile_pics'));
  assert.match(`profile_pics/${stored}`, STORED_NAME);
  assert.match(readFileSync(join(cwd, 'db.json'), 'utf8'), STORED_NAME);
});

test('an error thrown by work that finishes after the last line gives status 1', async () => {
  const run = await shell(['-c', "setTimeout(() => { throw new Error('late failure') }, 50)\nconsole.log('done')"], { cwd: workDir() });
  assertRun(run, { code: 1, stdout: 'done\n', stderr: /Error: late failure/ });
});

test('a rejection left unhandled after the last line gives status 1', async () => {
  const run = await shell(['-c', "setTimeout(() => { Promise.reject(new Error('nobody handles this')) }, 50)"], { cwd: workDir() });
  assertRun(run, { code: 1, stderr: /nobody handles this/ });
});

test('after an uncaught error, the timers the script started do not run', async () => {
  const run = await shell(['-c', "setTimeout(() => console.log('must not print'), 100)\nthrow new Error('stop')"], { cwd: workDir() });
  assertRun(run, { code: 1, stdout: '', stderr: /Uncaught Error: stop/ });
});

test("filefield's own errors print as class, message and a hint with the line, without a stack", async () => {
  const run = await shell([], { cwd: workDir(), stdin: "const profile = new Profile()\nawait profile.picture.save('avatar.png', new ContentFile('not an image'))\n" });
  assert.equal(run.code, 1);
  const lines = run.stderr.trimEnd().split('\n');
  assert.ok(lines.length <= 3, run.stderr);
  assert.match(lines[0]!, /^ValidationError: picture: Upload a valid image\./);
  assert.match(lines.at(-1)!, /\(stdin line 2\) nothing was stored/);
  assert.doesNotMatch(run.stderr, /^\s+at /m);
});

test('a forgotten await in a script gets a hint with the corrected line', async () => {
  const run = await shell([], { cwd: workDir(), stdin: 'const last = Profile.objects.last()\nconsole.log(typeof last.then)\n' });
  assert.equal(run.code, 0);
  assert.equal(run.stdout, 'function\n');
  assert.match(run.stderr, /hint: last is a Promise, not its value; to keep the value: const last = await Profile\.objects\.last\(\)/);
});

/** A project whose settings preload its own names through SHELL.imports. */
function projectWithImports(): string {
  const cwd = workDir();
  writeFileSync(join(cwd, 'text.ts'), "export function slugify(text: string): string { return text.toLowerCase().replace(/\\W+/g, '-'); }\nexport default 'the default';\n");
  writeFileSync(join(cwd, 'filefield.config.ts'), `export default {
  MEDIA_ROOT: 'media', DATABASE: 'db.json',
  SHELL: { imports: { slugify: './text.ts#slugify', text: './text.ts', crypto: 'node:crypto', File: 'node:buffer#File', nothing: './text.ts#nothing' } },
};\n`);
  return cwd;
}

test("SHELL.imports preloads the project's names; a name filefield has, or a missing export, is reported and skipped", async () => {
  const run = await shell(['-c', "console.log(slugify('Hello World'), text.default, typeof crypto.randomUUID, File === ContentFile.prototype.constructor.__proto__)"], { cwd: projectWithImports() });
  assert.equal(run.stdout, 'hello-world the default function true\n');
  assert.match(run.stderr, /SHELL\.imports\.File is not preloaded: File is filefield's own/);
  assert.match(run.stderr, /SHELL\.imports\.nothing: \.\/text\.ts has no export "nothing"/);
  assert.equal(run.code, 0);
});

test('SHELL.imports that is not an object of modules is refused, naming the key', async () => {
  const cwd = workDir();
  writeFileSync(join(cwd, 'filefield.config.ts'), "export default { SHELL: { imports: { x: 42 } } };\n");
  const run = await shell(['-c', '1'], { cwd });
  assert.match(run.stderr, /SHELL\.imports\.x must be a module \('module' or 'module#export'\), got 42\./);
  assert.equal(run.code, 1);
});

test('static imports are turned into dynamic ones: default, named, renamed, namespace, side effect, type-only, attributes', async () => {
  const cwd = projectWithImports();
  writeFileSync(join(cwd, 'data.json'), '{ "answer": 42 }');
  const run = await shell([], {
    cwd,
    stdin: [
      "import { slugify as slug } from './text.ts'",
      "import word, * as everything from './text.ts'",
      "import joiner, { sep } from 'node:path'",
      "import type { Nothing } from './text.ts'",
      "import 'node:os'",
      "import data from './data.json' with { type: 'json' }",
      'console.log(slug("A B"), word, typeof everything.slugify, typeof joiner.join, sep, data.answer)',
    ].join('\n'),
  });
  assert.equal(run.stdout, 'a-b the default function function / 42\n');
  assert.equal(run.code, 0, run.stderr);
});

test("a script whose storage keeps a connection open (SFTP) still ends after its last line: filefield's own handles do not count", async (t) => {
  const sshd = await startSshd();
  t.after(() => sshd.stop());
  const cwd = workDir();
  const root = join(sshd.root, 'shell-script');
  const options = { host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, knownHostKey: sshd.hostKey, root, baseUrl: '/media/' };
  writeFileSync(join(cwd, 'filefield.config.ts'), `export default { DATABASE: 'db.json', STORAGES: { default: { BACKEND: 'sftp', OPTIONS: ${JSON.stringify(options)} } } };\n`);
  const run = await shell(['-c', "console.log(await storage.save('kept.txt', new ContentFile('over ssh')))\nsetTimeout(() => console.log('timer done'), 100)"], { cwd });
  assertRun(run, { code: 0, stdout: 'kept.txt\ntimer done\n', stderr: /^$/ });
  assert.equal(readFileSync(join(root, 'kept.txt'), 'utf8'), 'over ssh');
});

test('--trace in a script prints the storage calls in order with what the script prints (standard output, as --print-sql)', async () => {
  const run = await shell(['--trace', '-c', "console.log('before')\nconsole.log(await storage.exists('nothing.txt'))"], { cwd: workDir() });
  assertRun(run, { code: 0, stderr: /^$/ });
  assert.match(run.stdout, /^before\n  storage default \(FileSystemStorage\) exists\('nothing\.txt'\) [\d.]+ ms\nfalse\n$/);
});
