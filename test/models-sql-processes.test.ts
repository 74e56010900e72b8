// Several processes sharing one SQL database: concurrent writers never lose a row or give an id twice; a
// process killed between storing a file and writing its row leaves no row, and its record of the save in
// flight (in the database's filefield_uploads table) lets a later save in another process remove the file.
// On PostgreSQL, two "machines" (separate working folders, no shared disk) share the database and an S3
// bucket on s3rver.
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configure, ContentFile, FileField, Model, storages, type FieldFile, type SettingsInput } from '../src/index.ts';
import type { SqlEngine } from '../src/db/sql/SqlEngine.ts';
import { activeDatabase, closeActiveDatabase } from '../src/models/activeDatabase.ts';
import { CHILD_TIMEOUT_MS, finished, killed, lineStartingWith, type Finished } from './support/children.ts';
import { Note } from './support/process-models.ts';
import { openUploadEntries, storedRows, type TestEngine } from './support/fixtures.ts';
import { startPostgres, type PostgresCluster } from './support/postgres.ts';
import { S3RVER_CREDENTIALS, startS3rver, type RunningS3rver } from './support/s3rver.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));

/** The parent's Crash model: the table the crashing children save into, on the default storage. */
class Crash extends Model {
  static override table = 'Crash';
  static override fields = { file: new FileField({ uploadTo: 'crash' }) };
  declare file: FieldFile;
}

function startChild(settings: SettingsInput, args: string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', 'tsx', 'test/support/sql-child.ts', JSON.stringify(settings), ...args], {
    cwd: REPO,
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/**
 * Resolves once PostgreSQL has ended the sessions of killed processes (so released their owner locks, by which
 * a sweep knows them dead): the server learns of a killed client's closed socket a moment after the kill.
 */
async function killedSessionsEnded(): Promise<void> {
  const engine = await activeDatabase();
  if (engine.vendor !== 'postgresql') return;
  const own = await (engine as SqlEngine).executor.driver.owner();
  for (;;) {
    const { rows } = await (engine as SqlEngine).executor.query(
      "select objid from pg_locks where locktype = 'advisory' and classid = 252833566 and objid <> $1", [Number(own)]);
    if (rows.length === 0) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function kill(child: ChildProcessWithoutNullStreams, exited: Promise<Finished>): Promise<void> {
  await killed(child, exited);
  await killedSessionsEnded();
}

async function killAfterStored(settings: SettingsInput, name: string): Promise<string> {
  const child = startChild(settings, ['crash', name]);
  const exited = finished(child);
  const stored = (await lineStartingWith(child, 'STORED ')).slice('STORED '.length);
  await kill(child, exited);
  return stored;
}

async function migrateTables(): Promise<void> {
  await (await activeDatabase()).migrate([Note.schema, Crash.schema]);
}

for (const engine of ['sqlite', 'postgresql'] as TestEngine[]) {
  describe(`on ${engine}`, () => {
    let scratch: string;
    let cluster: PostgresCluster | null = null;
    let settings: SettingsInput;
    let counter = 0;

    before(async () => {
      scratch = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), `filefield-sql-processes-`)));
      if (engine === 'postgresql') cluster = await startPostgres();
    });

    beforeEach(async () => {
      const root = join(scratch, `t${++counter}`);
      fs.mkdirSync(root);
      const database = engine === 'sqlite' ? join(root, 'db.sqlite3') : await cluster!.createDatabase();
      settings = { BASE_DIR: root, MEDIA_ROOT: join(root, 'media'), DATABASE: database };
      await configure(settings);
      await migrateTables();
    });

    after(async () => {
      await closeActiveDatabase();
      await configure({});
      await cluster?.stop();
      fs.rmSync(scratch, { recursive: true, force: true });
    });

    test('4 processes × 50 Note rows, all named note.txt: 200 rows, 200 ids, 200 files', { timeout: CHILD_TIMEOUT_MS * 2 }, async () => {
      const children = Array.from({ length: 4 }, (_, index) => startChild(settings, ['write', '50', `p${index}`]));
      for (const result of await Promise.all(children.map(finished))) assert.equal(result.code, 0, result.stderr);
      const notes = await Note.objects.all();
      assert.equal(notes.length, 200);
      assert.deepEqual(notes.map((note) => note.id), Array.from({ length: 200 }, (_, index) => index + 1));
      assert.equal(new Set(notes.map((note) => note.file.name)).size, 200, 'no two rows share a file');
      for (const note of notes) assert.equal(fs.readFileSync(join(settings.MEDIA_ROOT as string, note.file.name), 'utf8'), note.title);
      assert.deepEqual(await openUploadEntries(), []);
    });

    test('a process killed after storing, before its row: no row; the next save here deletes the file', { timeout: CHILD_TIMEOUT_MS * 2 }, async () => {
      const kept = new Crash();
      await kept.file.save('kept.txt', new ContentFile('kept'));
      const orphan = await killAfterStored(settings, 'orphan.txt');
      assert.equal(orphan, 'crash/orphan.txt');
      const orphanPath = join(settings.MEDIA_ROOT as string, orphan);
      assert.ok(fs.existsSync(orphanPath));
      assert.equal(await Crash.objects.count(), 1, 'no row for the killed save');
      assert.equal((await openUploadEntries()).length, 1, 'its save in flight is on record in the database');

      await new Crash().file.save('next.txt', new ContentFile('next'));
      assert.equal(fs.existsSync(orphanPath), false, 'the orphan is deleted');
      assert.deepEqual((await Crash.objects.all()).map((crash) => crash.file.name), ['crash/kept.txt', 'crash/next.txt']);
      assert.deepEqual(await openUploadEntries(), []);
    });

    test('a killed save whose name was taken (stored under another) is swept, and the row\'s file kept', { timeout: CHILD_TIMEOUT_MS * 2 }, async () => {
      await new Crash().file.save('shared.txt', new ContentFile("the row's file"));
      const stored = await killAfterStored(settings, 'shared.txt');
      assert.match(stored, /^crash\/shared_[A-Za-z0-9]{7}\.txt$/);
      await new Crash().file.save('next.txt', new ContentFile('next'));
      assert.equal(fs.existsSync(join(settings.MEDIA_ROOT as string, stored)), false);
      assert.equal(fs.readFileSync(join(settings.MEDIA_ROOT as string, 'crash', 'shared.txt'), 'utf8'), "the row's file");
      assert.deepEqual(await openUploadEntries(), []);
    });

    test('a file stored with save: false whose process is killed before its row is swept', { timeout: CHILD_TIMEOUT_MS * 2 }, async () => {
      const child = startChild(settings, ['awaiting', 'awaiting.txt', 'hang']);
      const exited = finished(child);
      const stored = (await lineStartingWith(child, 'STORED ')).slice('STORED '.length);
      await kill(child, exited);
      await new Crash().file.save('after.txt', new ContentFile('next'));
      assert.equal(fs.existsSync(join(settings.MEDIA_ROOT as string, stored)), false);
      assert.deepEqual(await openUploadEntries(), []);
    });

    test('a file stored with save: false whose process exits cleanly without its row is kept (the caller chose so)', { timeout: CHILD_TIMEOUT_MS * 2 }, async () => {
      const child = startChild(settings, ['awaiting', 'chosen.txt', 'exit']);
      const exited = finished(child);
      const stored = (await lineStartingWith(child, 'STORED ')).slice('STORED '.length);
      assert.equal((await exited).code, 0);
      assert.deepEqual(await openUploadEntries(), [], 'the clean exit settled its record');
      await new Crash().file.save('after.txt', new ContentFile('next'));
      assert.ok(fs.existsSync(join(settings.MEDIA_ROOT as string, stored)), 'the file is kept');
    });

    test('a save whose row cannot be written (its table is behind the model) leaves no file and says to migrate', async () => {
      class Later extends Model {
        static override fields = { file: new FileField({ uploadTo: 'later' }) };
        declare file: FieldFile;
      }
      const later = new Later();
      await assert.rejects(later.file.save('x.txt', new ContentFile('x')), {
        name: 'ProgrammingError',
        message: "The table 'Later' does not exist yet: run `filefield migrate`.",
      });
      assert.equal(fs.existsSync(join(settings.MEDIA_ROOT as string, 'later', 'x.txt')), false, 'the stored file is removed again');
      assert.equal(later.id, null);
      assert.deepEqual(await openUploadEntries(), []);
      await (await activeDatabase()).migrate([Later.schema]);
      await later.save();
      assert.equal((await storedRows('Later'))[0]!.file, 'later/x.txt', 'the content was kept for the next save');
    });
  });
}

describe('two machines sharing one PostgreSQL and one S3 bucket', () => {
  let cluster: PostgresCluster;
  let s3: RunningS3rver;
  let machines: SettingsInput[];
  let scratch: string;

  before(async () => {
    scratch = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), 'filefield-machines-')));
    [cluster, s3] = await Promise.all([startPostgres(), startS3rver()]);
    const database = await cluster.createDatabase();
    const storage = { BACKEND: 's3', OPTIONS: { bucket: s3.bucket, endpoint: s3.endpoint, ...S3RVER_CREDENTIALS, location: 'shared' } };
    machines = ['a', 'b'].map((name) => {
      const root = join(scratch, name);
      fs.mkdirSync(root);
      return { BASE_DIR: root, DATABASE: database, STORAGES: { default: storage } };
    });
    await configure(machines[1]!);
    await migrateTables();
  });

  after(async () => {
    await closeActiveDatabase();
    await configure({});
    await Promise.all([cluster?.stop(), s3?.stop()]);
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  async function objectsIn(folder: string): Promise<string[]> {
    const [, files] = await storages.get('default').listdir(folder);
    return files.map((file) => `${folder}/${file}`).sort();
  }

  test('4 × 25 concurrent saves (2 processes a machine): 100 rows, 100 distinct ids, 100 objects', { timeout: CHILD_TIMEOUT_MS * 2 }, async () => {
    const children = [0, 1, 2, 3].map((index) => startChild(machines[index % 2]!, ['write', '25', `m${index % 2}p${index}`]));
    for (const result of await Promise.all(children.map(finished))) assert.equal(result.code, 0, result.stderr);
    const notes = await Note.objects.all();
    assert.equal(notes.length, 100);
    assert.equal(new Set(notes.map((note) => note.id)).size, 100);
    const objects = await objectsIn('notes');
    assert.equal(objects.length, 100);
    assert.deepEqual(objects, notes.map((note) => note.file.name).sort());
    for (const machine of machines) assert.deepEqual(fs.readdirSync(machine.BASE_DIR as string), [], 'nothing on either disk');
  });

  test("a save killed on one machine is cleaned up by the other's next save", { timeout: CHILD_TIMEOUT_MS * 2 }, async () => {
    const orphan = await killAfterStored(machines[0]!, 'killed.txt');
    assert.deepEqual(await objectsIn('crash'), [orphan]);
    assert.equal((await openUploadEntries()).length, 1);
    // This process is machine b: its save sweeps what machine a's dead process left.
    await new Crash().file.save('after.txt', new ContentFile('after'));
    assert.deepEqual(await objectsIn('crash'), ['crash/after.txt']);
    assert.deepEqual(await openUploadEntries(), []);
    assert.equal(await Crash.objects.count(), 1);
  });
});
