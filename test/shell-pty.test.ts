/// <reference path="./tools/node_modules/node-pty/typings/node-pty.d.ts" />
// The interactive `filefield shell` in a real pseudo-terminal (node-pty): lines are typed as a user
// types them and the screen's text is read back. Each test works in its own temporary directory, where
// the bundled example project puts media/, db.json and the history file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
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

  constructor(cwd: string, args: string[] = []) {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) if (value !== undefined && key !== 'FILEFIELD_SETTINGS') env[key] = value;
    env.TERM = 'xterm-256color';
    this.terminal = pty.spawn(process.execPath, [CLI, 'shell', ...args], { cwd, cols: 200, rows: 50, env });
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

async function open(cwd = mkdtempSync(join(root, 'run-')), args: string[] = []): Promise<{ session: Session; cwd: string }> {
  const session = new Session(cwd, args);
  sessions.push(session);
  await session.waitFor(PROMPT, 'the first prompt');
  return { session, cwd };
}

test("the article's session, without await, shows the resolved values", async () => {
  const { session, cwd } = await open();
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

test('Tab completes the getters and methods of a FieldFile', async () => {
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
