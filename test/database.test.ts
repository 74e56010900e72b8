// The JSON database file: a file that cannot be read is refused with an error naming it and what is wrong,
// and never written over; `filefield check` reports it and exits non-zero; ids stay unique when the
// sequences are missing or behind; a full disk names the file and leaves no temporary file behind.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessByStdio, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Readable } from 'node:stream';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ContentFile, DatabaseError, UnreadableDatabase } from '../src/index.ts';
import { Note } from './support/process-models.ts';
import { checkDatabase } from '../src/cli/check.ts';
import { projectPerTest } from './support/fixtures.ts';

const project = projectPerTest('filefield-database-');
const REPO = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(REPO, 'bin', 'filefield.js');

const GOOD_ROW = { id: 1, title: 'kept', file: { name: 'notes/kept.txt', size: 4, contentType: 'text/plain' } };

/** What is in db.json, and what the error must say is wrong with it. */
const BROKEN: [string, string, RegExp][] = [
  ['an empty file', '', /it is empty \(0 bytes\)/],
  ['white space only', '  \n', /it holds only white space/],
  ['a truncated file', JSON.stringify({ tables: { Note: [GOOD_ROW, GOOD_ROW] } }).slice(0, 60), /it ends in the middle of its JSON, after 60 bytes/],
  ['text that is not JSON', 'tables: Note\n', /it is not valid JSON/],
  ['null', 'null', /it holds null where an object with "tables" and "sequences" belongs/],
  ['an empty array', '[]', /it holds an empty array where an object/],
  ['a number', '42', /it holds the number 42 where an object/],
  ['another program\'s JSON', '{"name":"my-app","version":"1.0.0"}', /keys that are not a filefield database's \("name", "version"\)/],
  ['tables that are not an object', '{"tables":[]}', /"tables" is an empty array, not an object of tables/],
  ['a table that is not an array', '{"tables":{"Note":{"id":1}}}', /table "Note" is an object, not an array of rows/],
  ['a row that is not an object', JSON.stringify({ tables: { Note: [GOOD_ROW, 'oops'] }, sequences: { Note: 1 } }), /row 2 of table "Note" is a string, not an object/],
  ['a row without an id', JSON.stringify({ tables: { Note: [{ title: 'no id' }] } }), /row 1 of table "Note" has no id/],
  ['a row whose id is text', JSON.stringify({ tables: { Note: [{ ...GOOD_ROW, id: '1' }] } }), /row 1 of table "Note" has the id "1", not a whole number/],
  ['two rows with one id', JSON.stringify({ tables: { Note: [GOOD_ROW, { ...GOOD_ROW, title: 'twin' }] } }), /row 2 of table "Note" has the id 1, which an earlier row/],
  ['a sequence that is not a number', JSON.stringify({ tables: {}, sequences: { Note: 'x' } }), /the sequence of table "Note" is a string/],
];

function mediaFiles(): string[] {
  const root = project.mediaRoot;
  return fs.existsSync(root) ? (fs.readdirSync(root, { recursive: true }) as string[]).filter((name) => fs.statSync(join(root, name)).isFile()) : [];
}

describe('a database file that cannot be read', () => {
  for (const [what, content, problem] of BROKEN) {
    test(`${what}: reads and saves fail naming the file and the problem; the file is left as it was`, async () => {
      fs.writeFileSync(project.database, content);
      const refused = (error: unknown) => {
        assert.ok(error instanceof UnreadableDatabase, String(error));
        assert.ok(error instanceof DatabaseError);
        assert.equal(error.file, project.database);
        assert.ok(error.message.startsWith(`The database ${project.database} cannot be read: `), error.message);
        assert.match(error.message, problem);
        assert.match(error.message, /filefield will not write over it/);
        return true;
      };
      await assert.rejects(Note.objects.all(), refused);
      await assert.rejects(Note.objects.count(), refused);
      await assert.rejects(Note.objects.create({ title: 'new', file: new ContentFile('new', 'new.txt') }), refused);
      await assert.rejects(new Note({ title: 'other' }).file.save('other.txt', new ContentFile('other')), refused);
      assert.equal(fs.readFileSync(project.database, 'utf8'), content, 'the file is not written over');
      assert.deepEqual(mediaFiles(), [], 'the files of the refused saves are removed again');
      assert.deepEqual(fs.readdirSync(project.root).filter((name) => name.endsWith('.tmp')), []);
    });
  }

  test('a row whose value does not fit its field: loading it names the row, the table and the file; other rows and saves work', async () => {
    const rows = [GOOD_ROW, { id: 2, title: 42, file: null }];
    fs.writeFileSync(project.database, JSON.stringify({ tables: { Note: rows }, sequences: { Note: 2 } }));
    const message = `Row 2 of table "Note" in ${project.database} cannot be loaded: title must be a string, got number.`;
    await assert.rejects(Note.objects.all(), (error: unknown) => {
      assert.ok(error instanceof DatabaseError);
      assert.equal(error.file, project.database);
      assert.equal(error.message, message);
      return true;
    });
    await assert.rejects(Note.objects.get(2), { message });
    assert.equal((await Note.objects.get(1)).title, 'kept');
    assert.equal((await Note.objects.create({ title: 'new' })).id, 3);
  });

  test('a database mended by hand is read again', async () => {
    fs.writeFileSync(project.database, '{"tables":{"Note":[');
    await assert.rejects(Note.objects.count(), UnreadableDatabase);
    fs.writeFileSync(project.database, JSON.stringify({ tables: { Note: [GOOD_ROW] }, sequences: { Note: 1 } }));
    assert.equal(await Note.objects.count(), 1);
  });
});

describe('writing the file', () => {
  const spare = () => join(project.root, '.db.json.spare');
  const retiring = () => join(project.root, '.db.json.retiring');
  const noteCount = (file: string) => (JSON.parse(fs.readFileSync(file, 'utf8')) as { tables: { Note?: unknown[] } }).tables.Note?.length ?? 0;
  const create = (title: string) => Note.objects.create({ title, file: new ContentFile(title, `${title}.txt`) });

  test('each write swaps the file with its spare: two inodes serve every write, and the spare holds the version before', async () => {
    const inodes = new Set<number>();
    for (let index = 1; index <= 6; index++) {
      await create(`n${index}`);
      inodes.add(fs.statSync(project.database).ino);
      assert.equal(noteCount(project.database), index);
      if (index > 1) assert.equal(noteCount(spare()), index - 1);
    }
    assert.equal(inodes.size, 2);
    assert.equal(fs.existsSync(retiring()), false);
  });

  test('a write cut short between its link and its renames is completed by the next one, whichever step it reached', async () => {
    await create('first');
    await create('second');
    // Cut after the link: the old version has its second name, the spare holds the next.
    fs.linkSync(project.database, retiring());
    await create('third');
    assert.equal(noteCount(project.database), 3);
    assert.equal(fs.existsSync(retiring()), false);
    // Cut after the first rename: the version before under the second name, no spare.
    fs.renameSync(spare(), retiring());
    await create('fourth');
    assert.equal(noteCount(project.database), 4);
    assert.equal(noteCount(spare()), 3);
    assert.equal(fs.existsSync(retiring()), false);
    assert.deepEqual((await Note.objects.orderBy('id').all()).map((note) => note.title), ['first', 'second', 'third', 'fourth']);
  });

  test('each write stamps the file later than the one before, even when the clock is behind it', async () => {
    // Readers in other processes tell versions apart by inode, size and this time: it must never repeat.
    await create('first');
    const ahead = new Date(Date.now() + 3_600_000);
    fs.utimesSync(project.database, ahead, ahead);
    let previous = fs.statSync(project.database).mtimeMs;
    for (const title of ['aaaa', 'bbbb', 'cccc']) {
      await create(title);
      const stamped = fs.statSync(project.database).mtimeMs;
      assert.ok(stamped > previous, `${stamped} after ${previous}`);
      previous = stamped;
    }
  });

  test('a spare that is another name of a file is made anew, never written over', async () => {
    await create('kept');
    const other = join(project.root, 'elsewhere.json');
    fs.writeFileSync(other, 'not to be touched');
    fs.rmSync(spare(), { force: true });
    fs.linkSync(other, spare());
    await create('next');
    assert.equal(fs.readFileSync(other, 'utf8'), 'not to be touched');
    assert.equal(noteCount(project.database), 2);
  });
});

/** What a child printed, and how it ended. */
function outputOf(child: ChildProcessWithoutNullStreams | ChildProcessByStdio<null, Readable, Readable>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs the real CLI's `filefield check` on a project whose settings use `database`. */
function runCheck(database: string, extra: Record<string, unknown> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const settingsFile = join(project.root, 'filefield.config.ts');
  const settings = { MEDIA_ROOT: 'media', DATABASE: database, SECRET_KEY: 'database-test-secret-key-0123456789', ...extra };
  fs.writeFileSync(settingsFile, `export default ${JSON.stringify(settings)};\n`);
  return outputOf(spawn(process.execPath, [CLI, 'check', '--settings', settingsFile], { cwd: project.root, stdio: ['ignore', 'pipe', 'pipe'] }));
}

describe('filefield check', () => {
  test('checkDatabase() fails on every unreadable variant, saying which file and what is wrong', async () => {
    for (const [what, content, problem] of BROKEN) {
      fs.writeFileSync(project.database, content);
      const result = await checkDatabase();
      assert.equal(result.ok, false, what);
      assert.deepEqual(result.steps.map((step) => [step.step, step.ok]), [['read', false]], what);
      assert.ok(result.steps[0]!.detail!.startsWith(`The database ${project.database} cannot be read: `), what);
      assert.match(result.steps[0]!.detail!, problem, what);
      assert.equal(fs.readFileSync(project.database, 'utf8'), content, what);
    }
  });

  test('reports a database that cannot be read, naming the file and the problem, and exits 1', async () => {
    const database = join(project.root, 'broken.json');
    fs.writeFileSync(database, '[]');
    const { code, stdout, stderr } = await runCheck('broken.json');
    assert.equal(code, 1, stdout + stderr);
    assert.ok(stdout.includes('\ndatabase: FAILED\n'), stdout);
    assert.ok(stdout.includes(`\n  FAIL read       The database ${database} cannot be read: it holds an empty array`), stdout);
    assert.match(stdout, /\nThe database cannot be used \(see above\)\.\n$/);
    assert.equal(fs.readFileSync(database, 'utf8'), '[]');
  });

  test('says how many rows a good database holds, and exits 0', async () => {
    const database = join(project.root, 'good.json');
    fs.writeFileSync(database, JSON.stringify({ tables: { Note: [GOOD_ROW, { ...GOOD_ROW, id: 2 }], Other: [] }, sequences: { Note: 2 } }));
    const { code, stdout, stderr } = await runCheck('good.json');
    assert.equal(code, 0, stdout + stderr);
    assert.ok(stdout.includes(`\ndatabase: ok\n  ok   read       ${database}: 2 rows in 2 tables\n`), stdout);
  });

  test('reports rows that name a file that does not exist, and exits 1', async () => {
    fs.mkdirSync(join(project.mediaRoot, 'notes'), { recursive: true });
    fs.writeFileSync(join(project.mediaRoot, 'notes', 'kept.txt'), 'kept');
    const rows = [GOOD_ROW, { ...GOOD_ROW, id: 2, file: { name: 'notes/gone.txt' } }, { id: 3, title: 'no file', file: null }];
    fs.writeFileSync(join(project.root, 'rows.json'), JSON.stringify({ tables: { Note: rows }, sequences: { Note: 3 } }));
    const models = fileURLToPath(new URL('./support/process-models.ts', import.meta.url));
    const { code, stdout, stderr } = await runCheck('rows.json', { MODELS: [models] });
    assert.equal(code, 1, stdout + stderr);
    assert.ok(stdout.includes("\n  FAIL files      1 of the 2 files rows name do not exist: Note 2 file 'notes/gone.txt'\n"), stdout);

    fs.writeFileSync(join(project.mediaRoot, 'notes', 'gone.txt'), 'back');
    const mended = await runCheck('rows.json', { MODELS: [models] });
    assert.equal(mended.code, 0, mended.stdout);
    assert.ok(mended.stdout.includes('\n  ok   files      every file a row names exists (2 files)\n'), mended.stdout);
  });
});

describe('ids', () => {
  for (const [what, sequences] of [['missing', undefined], ['behind the rows', { Note: 1 }]] as const) {
    test(`with the sequence ${what}, a new row gets an id above every row's, and deleting it removes only it`, async () => {
      const rows = [1, 2, 5].map((id) => ({ id, title: `old ${id}`, file: null }));
      fs.writeFileSync(project.database, JSON.stringify(sequences ? { tables: { Note: rows }, sequences } : { tables: { Note: rows } }));
      const created = await Note.objects.create({ title: 'new' });
      assert.equal(created.id, 6);
      await created.delete();
      assert.deepEqual((await Note.objects.all()).map((note) => [note.id, note.title]), [[1, 'old 1'], [2, 'old 2'], [5, 'old 5']]);
      assert.equal((await Note.objects.create({ title: 'next' })).id, 7);
    });
  }
});

/** Runs a child script inside a mount namespace of its own, with a 64 KiB tmpfs mounted on `small` for it. */
function runOnSmallDisk(small: string, script: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const shell = `mount -t tmpfs -o size=64k filefield-test "$1" && shift && exec "${process.execPath}" --import tsx "$@"`;
  return outputOf(spawn('unshare', ['-Urm', 'sh', '-c', shell, 'sh', small, script, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] }));
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('a full disk', () => {
  // A tmpfs of 64 KiB in a mount namespace of its own: a real ENOSPC, and nothing mounted outside the child.
  const unshare = spawnSync('unshare', ['-Urm', 'true']);
  const skip = unshare.status !== 0 && 'unshare -Urm is not permitted here';

  test('the database: the error names its file; no temporary file is left; the rows written before are intact', { skip, timeout: 120_000 }, async () => {
    const folder = join(project.root, 'small');
    fs.mkdirSync(folder);
    const { code, stdout, stderr } = await runOnSmallDisk(folder, 'test/support/db-out-of-space.ts', [folder, project.mediaRoot]);
    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout) as { saved: number; failure: { name: string; message: string; path: string; code: string } | null; rowsAfter: number; files: string[] };
    assert.ok(result.saved > 3, `some rows fit first (${result.saved})`);
    assert.ok(result.failure, 'the disk filled up');
    assert.equal(result.failure.name, 'OutOfSpaceError');
    assert.equal(result.failure.code, 'ENOSPC');
    assert.ok(result.failure.path.startsWith(join(folder, 'db.json')), result.failure.path);
    assert.match(result.failure.message, new RegExp(`^No space left to write ${escape(join(folder, 'db.json'))}(\\.lock)? \\(the disk is full\\); nothing was changed\\.$`));
    assert.equal(result.rowsAfter, result.saved, 'every row saved before is still there, and no other');
    assert.deepEqual(result.files, ['db.json'], 'no temporary file (nor lock) is left');
  });

  test('the media: the error names the file being stored; no temporary file and no row are left', { skip, timeout: 120_000 }, async () => {
    const media = join(project.root, 'small-media');
    fs.mkdirSync(media);
    const { code, stdout, stderr } = await runOnSmallDisk(media, 'test/support/media-out-of-space.ts', [media, project.database]);
    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout) as { failure: { name: string; message: string; path: string; code: string } | null; files: string[]; rows: number };
    assert.ok(result.failure, 'the disk filled up');
    assert.equal(result.failure.name, 'OutOfSpaceError');
    assert.equal(result.failure.path, join(media, 'notes', 'big.bin'));
    assert.equal(result.failure.message, `No space left to write ${join(media, 'notes', 'big.bin')} (the disk is full); nothing was changed.`);
    assert.deepEqual(result.files, ['notes'], 'no file and no temporary file under MEDIA_ROOT');
    assert.equal(result.rows, 0);
  });
});
