// Clean-up of old files: the field option `cleanup: true` (after the row change is committed, never a file
// another row refers to), `filefield cleanup` through the real CLI (with a save in flight), and orphans().
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContentFile, FileField, FileSystemStorage, Model, configure, storages, type FieldFile } from '../src/index.ts';
import { findOrphans, removeOrphans } from '../src/models/cleanup.ts';
import { loadSettings } from '../src/conf/load.ts';
import { runChild } from './support/child.ts';
import { PausableStorage } from './support/pausableStorage.ts';

const REPO = join(import.meta.dirname, '..');
let root: string;

class FailingStorage extends FileSystemStorage {
  protected override async _save(): Promise<string> {
    throw new Error('this storage is down');
  }
}

const pausable = new PausableStorage();

class Doc extends Model {
  static override table = 'Doc';
  static override fields = { file: new FileField({ uploadTo: 'docs', storage: () => pausable }) };
  declare file: FieldFile;
}

class Tidy extends Model {
  static override table = 'Tidy';
  static override fields = { file: new FileField({ uploadTo: 'tidy', cleanup: true }) };
  declare file: FieldFile;
}

class TidyPair extends Model {
  static override table = 'TidyPair';
  static override fields = {
    file: new FileField({ uploadTo: 'tidy', cleanup: true }),
    other: new FileField({ uploadTo: 'down', blank: true, storage: () => new FailingStorage() }),
  };
  declare file: FieldFile;
  declare other: FieldFile;
}

const media = (name: string) => join(root, 'media', name);
const age = (name: string, hours: number) => {
  const when = new Date(Date.now() - hours * 3_600_000);
  fs.utimesSync(media(name), when, when);
};

before(async () => {
  root = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), 'filefield-cleanup-')));
  fs.writeFileSync(join(root, 'models.ts'), [
    "import { FileField, Model } from 'filefield';",
    "export class Doc extends Model { static table = 'Doc'; static fields = { file: new FileField({ uploadTo: 'docs' }) }; }",
    "export class Tidy extends Model { static table = 'Tidy'; static fields = { file: new FileField({ uploadTo: 'tidy' }) }; }",
    '',
  ].join('\n'));
  fs.writeFileSync(join(root, 'filefield.config.ts'),
    "export default { MEDIA_ROOT: 'media', DATABASE: 'db.json', MODELS: ['./models.ts'], SECRET_KEY: 'cleanup-test-secret-key' };\n");
  await loadSettings({ file: join(root, 'filefield.config.ts') });
});

after(async () => {
  await configure({});
  fs.rmSync(root, { recursive: true, force: true });
});

describe("field option cleanup: true (django-cleanup's behaviour)", () => {
  test('the replaced file is removed once the row is written; the deleted row takes its file along', async () => {
    const tidy = new Tidy();
    await tidy.file.save('first.txt', new ContentFile('1'));
    const first = tidy.file.name;
    await tidy.file.save('second.txt', new ContentFile('2'));
    assert.equal(fs.existsSync(media(first)), false, 'the replaced file is gone');
    assert.equal(fs.existsSync(media(tidy.file.name)), true);
    const reloaded = await Tidy.objects.get(tidy.id!);
    await reloaded.file.save('third.txt', new ContentFile('3'));
    assert.equal(fs.existsSync(media(tidy.file.name)), false, 'a row read back cleans up too');
    const third = reloaded.file.name;
    await reloaded.delete();
    assert.equal(fs.existsSync(media(third)), false, 'the file of a deleted row is gone');
  });

  test('a file that another row still references is kept; without the option nothing is removed (as in Django)', async () => {
    const one = await Tidy.objects.create({});
    await one.file.save('shared.txt', new ContentFile('shared'));
    const other = await Tidy.objects.create({ file: one.file.name });
    await one.file.save('replacement.txt', new ContentFile('new'));
    assert.equal(fs.existsSync(media(other.file.name)), true, 'still referenced by the other row');
    await other.delete();
    assert.equal(fs.existsSync(media(other.file.name)), false, 'removed with its last reference');

    const plain = new Doc();
    await plain.file.save('kept.txt', new ContentFile('kept'));
    const kept = plain.file.name;
    await plain.file.save('next.txt', new ContentFile('next'));
    assert.equal(fs.existsSync(media(kept)), true);
  });

  test('never before the row change is committed: a save that fails keeps the old file', async () => {
    const pair = new TidyPair();
    await pair.file.save('old.txt', new ContentFile('old'));
    const old = pair.file.name;
    pair.file.stage('new.txt', new ContentFile('new'));
    pair.other.stage('other.txt', new ContentFile('other'));
    await assert.rejects(pair.save(), { message: 'this storage is down' });
    assert.equal(fs.existsSync(media(old)), true, 'the row still refers to it');
    assert.equal((await TidyPair.objects.get(pair.id!)).file.name, old);
  });
});

/** Runs the real CLI in the project. */
const cli = (...args: string[]) => runChild(process.execPath, [join(REPO, 'bin', 'filefield.js'), ...args], { cwd: root });

describe('filefield cleanup and orphans()', () => {
  test('removes old files that no row references, never a referenced one nor a save in flight', async () => {
    const referenced = await Doc.objects.create({});
    await referenced.file.save('referenced.txt', new ContentFile('mine'));
    age(referenced.file.name, 3);
    const orphan = await storages.get('default').save('docs/orphan.bin', new ContentFile(new Uint8Array(1000)));
    age(orphan, 2);
    const young = await storages.get('default').save('docs/young.bin', new ContentFile('just stored'));

    // A save in flight: its file is stored, its row not written yet, while the clean-up runs.
    const { stored, resume } = pausable.pauseNextSave();
    const inFlight = new Doc();
    const saving = inFlight.file.save('in-flight.txt', new ContentFile('in flight'));
    const inFlightName = await stored;

    const listed = (await removeOrphans({ dryRun: true })).map((entry) => entry.name);
    assert.deepEqual(listed.filter((name) => name.startsWith('docs/')), ['docs/orphan.bin']);

    const dry = await cli('cleanup', '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^would remove default: docs\/orphan\.bin \(1000 B, last written /m);
    assert.equal(fs.existsSync(media(orphan)), true, '--dry-run removes nothing');

    const run = await cli('cleanup', '--storage', 'default');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^removed default: docs\/orphan\.bin/m);
    assert.match(run.stdout, /Removed 1 file \(1000 B\) that no row references\.\n$/);
    assert.equal(fs.existsSync(media(orphan)), false);
    for (const name of [referenced.file.name, young, inFlightName]) assert.equal(fs.existsSync(media(name)), true, name);

    resume();
    await saving;
    assert.equal(inFlight.file.name, inFlightName);
    // With no grace period the young file goes, the in-flight one (now referenced) stays.
    const now = await cli('cleanup', '--older-than', '0');
    assert.equal(now.code, 0, now.stderr);
    assert.match(now.stdout, /^removed default: docs\/young\.bin/m);
    assert.equal(fs.existsSync(media(inFlightName)), true);
    const left: string[] = [];
    for await (const entry of findOrphans({ olderThanMs: 0 })) left.push(entry.name);
    assert.deepEqual(left, []);
  });

  test('bad arguments are refused, naming the problem', async () => {
    const unknown = await cli('cleanup', '--storage', 'nope');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stdout, /there is no storage 'nope' in STORAGES \(known: default\)/);
    const duration = await cli('cleanup', '--older-than', 'soon');
    assert.notEqual(duration.code, 0);
    assert.match(duration.stderr, /'soon' is not a duration/);
  });

  test("the shell's orphans() lists them", async () => {
    const orphan = await storages.get('default').save('docs/for-the-shell.txt', new ContentFile('x'));
    age(orphan, 2);
    const shell = await cli('shell', '-c', 'console.log(JSON.stringify((await orphans()).map((o) => o.name)))');
    assert.equal(shell.code, 0, shell.stderr);
    assert.deepEqual(JSON.parse(shell.stdout.trim().split('\n').pop()!), ['docs/for-the-shell.txt']);
  });
});
