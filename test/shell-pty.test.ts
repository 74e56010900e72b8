/// <reference path="./tools/node_modules/node-pty/typings/node-pty.d.ts" />
// The interactive `filefield shell` in a real pseudo-terminal (node-pty): lines are typed as a user
// types them and the screen's text is read back. Each test works in its own temporary directory, where
// the bundled example project puts media/, db.json and the history file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Pty from 'node-pty';
import { requireTool } from './support/tools.ts';

const pty = requireTool('node-pty') as typeof Pty;

const CLI = fileURLToPath(new URL('../bin/filefield.js', import.meta.url));
const IMAGE = fileURLToPath(new URL('../fixtures/image.png', import.meta.url));
const WAIT_MS = 15_000;
const PROMPT = /filefield(?: \(sandbox\))?> $/;
const CONTINUATION_PROMPT = /\.\.\. $/;
const STORED_NAME = '(profile_pics/[0-9a-f-]{36}\\.png)';
/** The spinner's frames (a slow first save shows it); the terminal erases them, the raw text keeps them. */
const SPINNER = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] waiting for the promise… \(Ctrl\+C stops waiting\)/g;

/** Removes terminal control sequences (colors, cursor moves, line clears) and carriage returns. */
function plain(text: string): string {
  return text
    .replace(/\x1b\][^\x07]*\x07/g, '')
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '')
    .replace(/\x1b[()][A-Za-z0-9]/g, '')
    .replace(/\r/g, '');
}

class Session {
  private readonly terminal: Pty.IPty;
  private raw = '';
  /** Where the output of the current step starts. */
  private mark = 0;
  readonly exited: Promise<number>;

  constructor(cwd: string, args: string[] = [], columns = 200) {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) if (value !== undefined && key !== 'FILEFIELD_SETTINGS') env[key] = value;
    env.TERM = 'xterm-256color';
    this.terminal = pty.spawn(process.execPath, [CLI, 'shell', ...args], { cwd, cols: columns, rows: 50, env });
    this.terminal.onData((data) => {
      this.raw += data;
    });
    this.exited = new Promise((resolve) => this.terminal.onExit(({ exitCode }) => resolve(exitCode)));
  }

  /** The screen's text since the last step began. */
  get output(): string {
    return plain(this.raw.slice(this.mark));
  }

  /** Polls until the output since the last step matches, failing after WAIT_MS with what was seen. */
  async waitFor(pattern: RegExp, what = String(pattern)): Promise<RegExpMatchArray> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const match = this.output.match(pattern);
      if (match) return match;
      if (Date.now() > deadline) assert.fail(`Timed out waiting for ${what}; the screen shows:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Sends keys as typed, starting a new step. */
  press(keys: string): void {
    this.mark = this.raw.length;
    this.terminal.write(keys);
  }

  /** Types a line and returns what the shell printed before its next prompt. */
  async enter(line: string, prompt: RegExp = PROMPT): Promise<string> {
    this.press(line + '\r');
    await this.waitFor(prompt, `a prompt after ${JSON.stringify(line)}`);
    const shown = this.output;
    // The line itself is echoed first; the answer follows it.
    const echoed = shown.indexOf(line);
    const answer = echoed === -1 ? shown : shown.slice(echoed + line.length);
    return answer.replace(SPINNER, '').replace(prompt, '').trim();
  }

  async exit(): Promise<number> {
    this.press('\x04'); // Ctrl+D on an empty line
    return this.result();
  }

  async result(): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`The shell did not exit; the screen shows:\n${plain(this.raw)}`)), WAIT_MS);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    try {
      this.terminal.kill();
    } catch {
      // Already gone.
    }
  }
}

let root: string;
const sessions: Session[] = [];

before(() => {
  root = realpathSync(mkdtempSync(join(tmpdir(), 'filefield-shell-pty-')));
});

after(() => {
  for (const session of sessions) session.kill();
  rmSync(root, { recursive: true, force: true });
});

async function open(cwd = mkdtempSync(join(root, 'run-')), args: string[] = [], columns?: number): Promise<{ session: Session; cwd: string }> {
  const session = new Session(cwd, args, columns);
  sessions.push(session);
  await session.waitFor(PROMPT, 'the first prompt');
  return { session, cwd };
}

test("the article's session, without await, shows the resolved values", async () => {
  // Wide enough for the saved file's one-line form (a narrower terminal breaks it into lines).
  const { session, cwd } = await open(undefined, [], 300);
  assert.match(session.output, /models\s+Profile/);
  assert.equal(await session.enter(`const f = fs.openSync(${JSON.stringify(IMAGE)})`), 'undefined');
  assert.equal(await session.enter('const profile = new Profile()'), 'undefined');

  const saved = await session.enter("profile.picture.save('my-image.png', new File(f))");
  const name = saved.match(new RegExp(`^<ImageFieldFile: ${STORED_NAME} 64×48 927 B image/png path=(\\S+) url=(\\S+)>$`));
  assert.ok(name, `the saved FieldFile is shown, not a pending promise: ${saved}`);
  const [, storedName, shownPath, shownUrl] = name;
  assert.equal(shownPath, join(cwd, 'media', storedName!));
  assert.equal(shownUrl, `/media/${storedName}`);

  assert.equal(await session.enter('profile.picture.name'), `'${storedName}'`);
  assert.equal(await session.enter('profile.picture.path'), `'${join(cwd, 'media', storedName!)}'`);
  assert.equal(await session.enter('profile.picture.url'), `'/media/${storedName}'`);
  assert.equal(await session.enter('(await Profile.objects.last()).picture.url'), `'/media/${storedName}'`);
  assert.equal(await session.enter('Profile.objects.count()'), '1', 'a promise-valued expression is awaited');
  assert.ok(existsSync(join(cwd, 'media', storedName!)));
  assert.equal(await session.exit(), 0);
});

test('a function typed over three lines, then called', async () => {
  const { session } = await open();
  assert.equal(await session.enter('function add(a, b) {', CONTINUATION_PROMPT), '');
  assert.equal(await session.enter('  return a + b', CONTINUATION_PROMPT), '');
  assert.equal(await session.enter('}'), 'undefined');
  assert.equal(await session.enter('add(2, 3)'), '5');
  assert.equal(await session.exit(), 0);
});

test('TypeScript: annotations, a multi-line interface, `as`; declarations last to the next line', async () => {
  const { session } = await open();
  assert.equal(await session.enter('const n: number = 41; n + 1'), '42');
  assert.equal(await session.enter('n'), '41');
  assert.equal(await session.enter('interface Point {', CONTINUATION_PROMPT), '');
  assert.equal(await session.enter('  x: number', CONTINUATION_PROMPT), '');
  assert.equal(await session.enter('}'), '');
  assert.equal(await session.enter('const p = { x: 2 } as Point'), 'undefined');
  assert.equal(await session.enter('const doubled: number = await Promise.resolve(p.x * 2)'), 'undefined');
  assert.equal(await session.enter('doubled'), '4');
  assert.equal(await session.exit(), 0);
});

test('.ls lists the preloads with a line of help each', async () => {
  const { session } = await open();
  const listing = await session.enter('.ls');
  for (const name of ['Profile', 'File', 'ContentFile', 'ImageFile', 'storage', 'storages', 'settings', 'fs', 'path']) {
    assert.match(listing, new RegExp(`^  ${name}\\s+\\S`, 'm'), `${name} in:\n${listing}`);
  }
  for (const group of ['models', 'files', 'storage', 'settings']) assert.match(listing, new RegExp(`^${group}$`, 'm'));
  assert.equal(await session.exit(), 0);
});

test('storage, storages and settings print what they stand for, not their proxies', async () => {
  const { session, cwd } = await open();
  assert.equal(await session.enter('storage'), `<FileSystemStorage location=${join(cwd, 'media')} baseUrl=/media/>`);
  assert.match(await session.enter('storages'), /^Storages \{\s+default: <FileSystemStorage location=\S+ baseUrl=\/media\/>\s+\}$/);
  const shownSettings = await session.enter('settings');
  assert.match(shownSettings, /^Settings \{/);
  assert.ok(shownSettings.includes(`MEDIA_ROOT: '${join(cwd, 'media')}'`), shownSettings);
  assert.equal(await session.exit(), 0);
});

test('_ and _error hold the last result and the last error', async () => {
  const { session } = await open();
  await session.enter('Promise.resolve(6 * 7)');
  assert.equal(await session.enter('_'), '42');
  assert.match(await session.enter("Promise.reject(new Error('refused'))"), /Uncaught Error: refused/);
  assert.equal(await session.enter('_error.message'), "'refused'");
  assert.equal(await session.exit(), 0);
});

test('Tab completes the public getters and methods of a FieldFile, not its internals', async () => {
  const { session } = await open();
  await session.enter('const profile = new Profile()');
  session.press('profile.picture.');
  await session.waitFor(/profile\.picture\.$/);
  session.press('\t');
  await new Promise((resolve) => setTimeout(resolve, 200));
  session.press('\t');
  const shown = await session.waitFor(/profile\.picture\.url/);
  for (const member of ['save', 'path', 'url', 'name', 'size', 'width']) {
    assert.match(shown.input!, new RegExp(`profile\\.picture\\.${member}\\b`));
  }
  for (const internal of ['adoptSource', 'commitPending', 'stage', 'requireFile', 'constructor', '__proto__', 'hasOwnProperty']) {
    assert.doesNotMatch(shown.input!, new RegExp(`profile\\.picture\\.${internal}\\b`), `${internal} is not public`);
  }
  session.press('\x03'); // abandon the line
  await session.waitFor(PROMPT);
  assert.equal(await session.exit(), 0);
});

test('history is kept in the project and recalled with Up in the next session', async () => {
  const cwd = mkdtempSync(join(root, 'run-'));
  const first = (await open(cwd)).session;
  await first.enter('const remembered = 12345');
  assert.equal(await first.exit(), 0);
  assert.match(readFileSync(join(cwd, '.filefield_history'), 'utf8'), /^const remembered = 12345$/m);

  const second = (await open(cwd)).session;
  second.press('\x1b[A'); // Up
  await second.waitFor(/const remembered = 12345$/);
  second.press('\r');
  await second.waitFor(PROMPT);
  assert.equal(await second.enter('remembered'), '12345');
  assert.equal(await second.exit(), 0);
});

test('--sandbox says so in the prompt and the banner', async () => {
  const { session, cwd } = await open(undefined, ['--sandbox']);
  assert.match(session.output, /Sandbox: writes go to copies/);
  assert.match(session.output, /filefield \(sandbox\)> $/);
  await session.enter(`await new Profile().picture.save('x.png', new File(fs.openSync(${JSON.stringify(IMAGE)})))`);
  assert.equal(await session.exit(), 0);
  assert.equal(existsSync(join(cwd, 'media')), false);
  assert.equal(existsSync(join(cwd, 'db.json')), false);
});

test('Ctrl+C stops waiting for a promise that does not settle; the session goes on', async () => {
  const { session } = await open();
  session.press('new Promise(() => {})\r');
  await session.waitFor(/waiting for the promise/);
  session.press('\x03');
  await session.waitFor(/Stopped waiting for the promise[\s\S]*filefield> $/);
  assert.equal(await session.enter('1 + 1'), '2');
  assert.equal(await session.exit(), 0);
});

test('Ctrl+D exits with status 0', async () => {
  const { session } = await open();
  assert.equal(await session.exit(), 0);
});

test("filefield's own errors print in at most three lines; _error keeps the error and .stack prints it", async () => {
  const { session } = await open();
  await session.enter('const profile = new Profile()');
  const refused = await session.enter("profile.picture.save('avatar.png', new ContentFile('not an image'))");
  const lines = refused.split('\n');
  assert.ok(lines.length <= 3, refused);
  assert.match(lines[0]!, /^ValidationError: picture: Upload a valid image\./);
  assert.match(lines.at(-1)!, /nothing was stored, no row was written; \.stack prints the stack/);
  assert.doesNotMatch(refused, /^\s+at /m);
  assert.equal(await session.enter('_error instanceof Error && _error.name'), "'ValidationError'");
  assert.match(await session.enter('.stack'), /^ValidationError: picture[^\n]*\n\s+at /);
  const missing = await session.enter('Profile.objects.get(12345)');
  assert.match(missing, /^DoesNotExist: Profile matching query does not exist\.\n[^\n]*filter\(\) gives \[\]/);
  assert.match(await session.enter("storage.save('../outside.txt', new ContentFile('x'))"), /^SuspiciousFileOperation: Detected path traversal attempt in '\.\.\/outside\.txt'\n/);
  assert.match(await session.enter("throw new TypeError('not ours')"), /^Uncaught TypeError: not ours/, "other errors keep Node's output");
  assert.equal(await session.exit(), 0);
});

test('Ctrl+C of a synchronous endless loop prints one short line', async () => {
  const { session } = await open();
  // Writes to a terminal are synchronous: once 'looping' shows, the loop runs.
  session.press("console.log('loop' + 'ing'); while (true) {}\r");
  await session.waitFor(/^looping$/m);
  session.press('\x03');
  const shown = await session.waitFor(/Interrupted[^\n]*\n[\s\S]*filefield> $/);
  const report = shown.input!.slice(shown.index).replace(PROMPT, '').trim();
  assert.equal(report.split('\n').length, 1, report);
  assert.equal(await session.enter('1 + 1'), '2');
  assert.equal(await session.exit(), 0);
});

test('a forgotten await: a declared promise and a property read on a promise get the corrected line', async () => {
  const { session } = await open();
  await session.enter('await new Profile().save()');
  assert.match(await session.enter('const last = Profile.objects.last()'), /^hint: last is a Promise, not its value; to keep the value: const last = await Profile\.objects\.last\(\)\nundefined$/);
  assert.match(await session.enter('last.picture'), /^hint: \.picture was read on a Promise[^\n]*: \(await last\)\.picture\nundefined$/);
  assert.match(await session.enter('Profile.objects.last().picture.url'), /hint: [^\n]*: \(await Profile\.objects\.last\(\)\)\.picture\.url\n/);
  assert.equal(await session.enter('const fine = await Profile.objects.last()'), 'undefined', 'no hint once awaited');
  assert.equal(await session.exit(), 0);
});

test('--replay --step types each statement, runs it on Enter and shows its value; the prompt stays open', async () => {
  const cwd = mkdtempSync(join(root, 'run-'));
  writeFileSync(join(cwd, 'demo.ts'), [
    '// Two statements, one over three lines',
    'const answer: number = 6 * 7',
    'function twice(n: number) {',
    '  return n * 2',
    '}',
    'twice(answer)',
  ].join('\n'));
  const session = new Session(cwd, ['--replay', 'demo.ts', '--step']);
  sessions.push(session);
  await session.waitFor(/\/\/ Two statements, one over three lines\n(.*\n)?filefield> const answer: number = 6 \* 7$/, 'the narration, then the first statement typed');
  assert.doesNotMatch(session.output, /undefined/, 'not run before Enter');
  session.press('\r');
  await session.waitFor(/^\s*undefined\nfilefield> function twice\(n: number\) \{$/);
  session.press('\r');
  await session.waitFor(/\.\.\. \}\nundefined\nfilefield> twice\(answer\)$/, 'the continued lines typed by themselves, then the next statement');
  assert.doesNotMatch(session.output, /84/, 'no preview gives the value away before Enter');
  session.press('\r');
  await session.waitFor(/^\s*84\nfilefield> $/);
  assert.equal(await session.enter('answer + 1'), '43', 'the session goes on after the replay');
  assert.equal(await session.exit(), 0);
});

test('--replay --delay --exit plays the whole script and leaves, with status 1 when a statement failed; .replay FILE at the prompt', async () => {
  const cwd = mkdtempSync(join(root, 'run-'));
  writeFileSync(join(cwd, 'ok.js'), "const greeting = 'hello'\ngreeting.toUpperCase()\n");
  writeFileSync(join(cwd, 'fails.js'), "Profile.objects.get(999)\n'after the error'\n");
  const ok = new Session(cwd, ['--replay', 'ok.js', '--delay', '5', '--exit']);
  sessions.push(ok);
  assert.equal(await ok.result(), 0);
  assert.match(ok.output, /filefield> greeting\.toUpperCase\(\)\n'HELLO'\n/);
  const failing = new Session(cwd, ['--replay', 'fails.js', '--exit']);
  sessions.push(failing);
  assert.equal(await failing.result(), 1);
  assert.match(failing.output, /DoesNotExist[\s\S]*'after the error'/);

  const { session } = await open(cwd);
  session.press('.replay ok.js\r');
  await session.waitFor(/'HELLO'\nfilefield> $/);
  assert.equal(await session.enter('greeting'), "'hello'");
  assert.equal(await session.exit(), 0);
});

/** A project of its own: settings and a models file with one model, `Note`, whose fields are given. */
function projectWithNote(fields: string, extraModels = ''): string {
  const cwd = mkdtempSync(join(root, 'project-'));
  writeFileSync(join(cwd, 'filefield.config.ts'), "export default { MEDIA_ROOT: 'media', MEDIA_URL: '/media/', DATABASE: 'db.json', MODELS: ['./models.ts'] };\n");
  writeModels(cwd, fields, extraModels);
  return cwd;
}

/** models.ts with `Note` (its fields, and optionally more members and imports) and other models after it. */
function writeModels(cwd: string, fields: string, extraModels = '', more: { imports?: string; members?: string } = {}): void {
  writeFileSync(join(cwd, 'models.ts'), [
    "import { Model, CharField } from 'filefield';",
    more.imports ?? '',
    `export class Note extends Model {`,
    `  static override fields = { ${fields} };`,
    more.members ?? '',
    `}`,
    extraModels,
  ].join('\n'));
}

test('.reload after editing the models file: new instances use the new class, and it says which names changed', async () => {
  const cwd = projectWithNote('title: new CharField({ maxLength: 20 })');
  const { session } = await open(cwd);
  await session.enter("const before = new Note({ title: 'old' })");
  writeModels(cwd, 'title: new CharField({ maxLength: 20 }), body: new CharField({ maxLength: 200 })',
    'export class Tag extends Model {\n  static override fields = { label: new CharField({ maxLength: 20 }) };\n}');
  writeFileSync(join(cwd, 'filefield.config.ts'), "export default { MEDIA_ROOT: 'media', MEDIA_URL: '/files/', DATABASE: 'db.json', MODELS: ['./models.ts'] };\n");
  assert.match(await session.enter('.reload'), /^Reloaded: Note changed, Tag added; settings: MEDIA_URL changed\./);
  assert.equal(await session.enter('Object.keys(new Note().constructor.fields).join()'), "'title,body'");
  assert.equal(await session.enter('Object.keys(before.constructor.fields).join()'), "'title'", 'an instance made before keeps its class');
  assert.equal(await session.enter('typeof Tag'), "'function'");
  assert.equal(await session.enter('settings.MEDIA_URL'), "'/files/'");
  assert.match(await session.enter('.ls'), /^  Tag\s+model from models \(fields label\)/m);
  assert.equal(await session.enter('.reload'), 'Reloaded; the models and settings read as before.');
  // A helper module the models import is read anew too.
  writeFileSync(join(cwd, 'label.ts'), "export const LABEL = 'first';\n");
  writeModels(cwd, 'title: new CharField({ maxLength: 20 })', '', { imports: "import { LABEL } from './label.ts';", members: '  static label = LABEL;' });
  await session.enter('.reload');
  assert.equal(await session.enter('Note.label'), "'first'");
  writeFileSync(join(cwd, 'label.ts'), "export const LABEL = 'second';\n");
  assert.equal(await session.enter('.reload'), 'Reloaded; the models and settings read as before.');
  assert.equal(await session.enter('Note.label'), "'second'");
  assert.equal(await session.exit(), 0);
});

test('.reload in a sandbox keeps its copies; .reset discards its files and rows and starts again; outside a sandbox it refuses', async () => {
  const cwd = projectWithNote('title: new CharField({ maxLength: 20 })');
  const { session } = await open(cwd, ['--sandbox']);
  await session.enter("await Note.objects.create({ title: 'kept?' })");
  await session.enter("await storage.save('notes.txt', new ContentFile('x'))");
  assert.equal(await session.enter('Note.objects.count()'), '1');
  assert.equal(await session.enter('.reload'), 'Reloaded; the models and settings read as before.');
  assert.equal(await session.enter('Note.objects.count()'), '1', '.reload in a sandbox keeps working on its copies');
  assert.equal(await session.enter(`settings.MEDIA_ROOT.startsWith(${JSON.stringify(cwd)})`), 'false');
  assert.match(await session.enter('.reset'), /^Sandbox reset: the files and rows written in it are gone/);
  assert.equal(await session.enter('Note.objects.count()'), '0');
  assert.equal(await session.enter("storage.exists('notes.txt')"), 'false');
  assert.equal(await session.exit(), 0);
  assert.equal(existsSync(join(cwd, 'db.json')), false, 'the project itself was never written');

  const outside = (await open(cwd)).session;
  assert.match(await outside.enter('.reset'), /^\.reset: works in a sandbox only/);
  assert.equal(await outside.exit(), 0);
});

test('--trace prints each storage call under its public method, with name, bytes and time; .trace off and on', async () => {
  const { session } = await open(undefined, ['--trace']);
  const saved = await session.enter(`await new Profile().picture.save('x.png', new File(fs.openSync(${JSON.stringify(IMAGE)})))`);
  assert.match(saved, new RegExp(`^\\s*storage default \\(FileSystemStorage\\) save\\('${STORED_NAME}'\\) 927 B [\\d.]+ ms$`, 'm'));
  assert.doesNotMatch(saved, /exists\(/, "the exists() that save() makes to choose a name is part of the save");
  assert.match(await session.enter("storage.open('missing.txt')"), /^\s*storage default \(FileSystemStorage\) open\('missing\.txt'\) [\d.]+ ms failed: ENOENT$/m);
  assert.equal(await session.enter('.trace off'), 'Storage calls are not printed.');
  assert.equal(await session.enter("storage.exists('a.txt')"), 'false');
  assert.equal(await session.enter('.trace on'), 'Storage calls are printed.');
  assert.match(await session.enter("storage.exists('a.txt')"), /^\s*storage default \(FileSystemStorage\) exists\('a\.txt'\) [\d.]+ ms\nfalse$/);
  assert.equal(await session.exit(), 0);
});

test('--print-sql prints the statements the database layer publishes, in order with --trace\'s storage calls', async () => {
  const { session } = await open(undefined, ['--trace', '--print-sql']);
  const shown = await session.enter("require('node:diagnostics_channel').channel('filefield:sql').publish({ vendor: 'sqlite', sql: 'select * from profile where id = ?', params: [7], durationMs: 0.25 }); storage.exists('b.txt')");
  assert.match(shown, /^select \* from profile where id = \?;\n  params \[ 7 \]\n  \[sqlite: 0\.250 ms\]\n  storage default \(FileSystemStorage\) exists\('b\.txt'\) [\d.]+ ms\nfalse$/);
  assert.equal(await session.exit(), 0);
});

test('Tab on a model instance and on a storage offers their public API only', async () => {
  const { session } = await open();
  await session.enter('const profile = new Profile()');
  for (const [expression, wanted, unwanted] of [
    ['profile.', ['save', 'delete', 'refreshFromDb', 'picture', 'name', 'id'], ['setFieldValue', 'toRow', 'constructor']],
    ['storage.', ['save', 'open', 'exists', 'url', 'listdir'], ['_save', '_open', 'describe', 'isNameAvailable', 'checkedSave']],
  ] as const) {
    session.press(expression);
    await session.waitFor(new RegExp(`${expression.replace('.', '\\.')}$`));
    session.press('\t');
    await new Promise((resolve) => setTimeout(resolve, 200));
    session.press('\t');
    const shown = (await session.waitFor(new RegExp(`${expression.replace('.', '\\.')}save`))).input!;
    for (const name of wanted) assert.match(shown, new RegExp(`${expression.replace('.', '\\.')}${name}\\b`), name);
    for (const name of unwanted) assert.doesNotMatch(shown, new RegExp(`${expression.replace('.', '\\.')}${name}\\b`), name);
    session.press('\x03');
    await session.waitFor(PROMPT);
  }
  assert.equal(await session.exit(), 0);
});

test('a narrow terminal shows saved files and models on short lines; modes in octal; an unsaved file has no URL', async () => {
  const cwd = mkdtempSync(join(root, 'run-'));
  const session = new Session(cwd, [], 80);
  sessions.push(session);
  await session.waitFor(PROMPT);
  await session.enter('const profile = new Profile()');
  assert.equal(await session.enter("profile.picture = new ContentFile('x', 'draft.png'); profile.picture"), '<ImageFieldFile: draft.png (not saved yet)>');
  const saved = await session.enter(`await profile.picture.save('a.png', new File(fs.openSync(${JSON.stringify(IMAGE)})))`);
  const lines = saved.split('\n');
  // Only a long path itself may be wider than the terminal.
  assert.ok(lines.length >= 3 && lines.every((line) => line.length <= 80 || /^  path=\S+$/.test(line)), saved);
  assert.match(lines[0]!, new RegExp(`^<ImageFieldFile: ${STORED_NAME}$`));
  assert.match(saved, /^  64×48 927 B image\/png$/m);
  assert.match(saved, /^  url=\/media\/profile_pics\/[0-9a-f-]{36}\.png>$/m);
  const row = await session.enter('profile');
  assert.match(row, /^Profile \{\n  id: 1,\n  name: '',\n  picture: <ImageFieldFile: /);
  // The stored name's line is as long as the name (52 characters) and its label make it.
  assert.ok(row.split('\n').every((line) => line.length <= 82 || /^    path=\S+$/.test(line)), row);
  assert.equal(await session.enter('settings.FILE_UPLOAD_PERMISSIONS'), '0o644');
  assert.match(await session.enter('settings'), /FILE_UPLOAD_PERMISSIONS: 0o644/);
  assert.equal(await session.exit(), 0);
});

test('SHELL.imports appear in the banner, with the names that collide with a preload', async () => {
  const cwd = projectWithNote('title: new CharField({ maxLength: 20 })');
  writeFileSync(join(cwd, 'filefield.config.ts'), "export default { MEDIA_ROOT: 'media', DATABASE: 'db.json', MODELS: ['./models.ts'], SHELL: { imports: { crypto: 'node:crypto', Note: 'node:path#sep', storage: 'node:os' } } };\n");
  const { session } = await open(cwd);
  assert.match(session.output, /^  imports +crypto$/m);
  assert.match(session.output, /note: SHELL\.imports\.Note is not preloaded: Note is a model of MODELS/);
  assert.match(session.output, /note: SHELL\.imports\.storage is not preloaded: storage is filefield's own/);
  assert.equal(await session.enter('typeof crypto.randomUUID'), "'function'");
  assert.equal(await session.enter("import { join } from 'node:path'"), 'undefined', 'a static import at the prompt works');
  assert.equal(await session.enter("join('a', 'b')"), "'a/b'");
  assert.equal(await session.exit(), 0);
});

test('the demos in example/demos replay from start to end', async () => {
  const cwd = mkdtempSync(join(root, 'demo-'));
  const demo = (name: string) => fileURLToPath(new URL(`../example/demos/${name}`, import.meta.url));
  const article = new Session(cwd, ['--sandbox', '--replay', demo('article.ts'), '--exit'], 300);
  sessions.push(article);
  assert.equal(await article.result(), 0, article.output);
  assert.match(article.output, new RegExp(`\\(await Profile\\.objects\\.last\\(\\)\\)\\.picture\\.url\\n'/media/${STORED_NAME}'`));
  const questions = new Session(cwd, ['--sandbox', '--replay', demo('three-questions.ts'), '--exit'], 300);
  sessions.push(questions);
  assert.equal(await questions.result(), 1, 'the third question ends in the refusal it is about');
  assert.match(questions.output, /\[ \[\], \[ 'clash\.txt', 'clash_[A-Za-z0-9]{7}\.txt' \] \]/);
  assert.match(questions.output, /ValidationError: picture: Upload a valid image\. [^\n]*(\n[^\n]*)?HTML, not an image\./);
  assert.equal(existsSync(join(cwd, 'media')), false, 'the sandbox kept the folder clean');
});
