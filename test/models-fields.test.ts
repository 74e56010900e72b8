// FileField, ImageField, FieldFile, the scalar fields and the Manager, through the public API, with real
// files in a fresh MEDIA_ROOT and a fresh DATABASE per test (reference §7 and §9 items 19–29, 61–76).
import { test, describe, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import {
  CharField, configure, ContentFile, DoesNotExist, FieldError, FieldFile, File, FileField, FileSystemStorage,
  ImageField, ImageFieldFile, ImproperlyConfigured, IntegerField, Model, MultipleObjectsReturned, settings,
  storages, strftime, SuspiciousFileOperation, ValidationError, type ImageFieldFile as ImageFieldFileType,
} from '../src/index.ts';
import { Profile } from '../example/models.ts';
import { bytesOf, fixture, forEachEngine, projectPerTest, storedRows } from './support/fixtures.ts';

const RND7 = '[A-Za-z0-9]{7}';
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

forEachEngine((engine) => {
  const project = projectPerTest('filefield-fields-', engine);
  const { openFixture } = project;


  /** Runs `run` and returns the message of what it threw (sync or async), checking the error's class. */
  async function rejection(run: () => unknown, kind: new (...args: any[]) => Error = Error): Promise<string> {
    try {
      await run();
    } catch (error) {
      assert.ok(error instanceof kind, `expected ${kind.name}, got ${(error as Error)?.name}: ${(error as Error)?.message}`);
      return (error as Error).message;
    }
    assert.fail(`expected ${kind.name} to be thrown`);
  }

  /** Django's test models: a Storage object with FileFields (upload_to "tests"). */
  class Document extends Model {
    static override table = 'Document';
    static override fields = {
      title: new CharField({ maxLength: 20, blank: true }),
      normal: new FileField({ uploadTo: 'tests', blank: true }),
      myfile: new FileField({ uploadTo: 'unused', blank: true }),
      limited: new FileField({ uploadTo: 'tests', maxLength: 20, blank: true }),
    };

    declare title: string;
    declare normal: FieldFile;
    declare myfile: FieldFile;
    declare limited: FieldFile;
  }

  /** A storage that counts the files it opens (FileSystemStorage over MEDIA_ROOT otherwise). */
  class CountingStorage extends FileSystemStorage {
    opened: string[] = [];
    protected override async _open(name: string): Promise<File> {
      this.opened.push(name);
      return super._open(name);
    }
  }

  /** A storage whose open() always fails (§9 item 75). */
  class UnopenableStorage extends FileSystemStorage {
    protected override async _open(name: string): Promise<File> {
      throw new Error(`open(${name}) is not available in this storage`);
    }
  }

  const countingStorage = new CountingStorage();

  /** Django's Person model of the ImageField tests, with dimension fields. */
  class Person extends Model {
    static override table = 'Person';
    static override fields = {
      name: new CharField({ blank: true }),
      mugshot: new ImageField({ uploadTo: 'tests', storage: countingStorage, widthField: 'mugshotWidth', heightField: 'mugshotHeight', blank: true }),
      mugshotWidth: new IntegerField({ null: true }),
      mugshotHeight: new IntegerField({ null: true }),
    };

    declare name: string;
    declare mugshot: ImageFieldFileType;
    declare mugshotWidth: number | null;
    declare mugshotHeight: number | null;
  }

  class Unopenable extends Model {
    static override table = 'Unopenable';
    static override fields = {
      mugshot: new ImageField({ uploadTo: 'tests', storage: new UnopenableStorage(), widthField: 'w', heightField: 'h' }),
      w: new IntegerField(),
      h: new IntegerField(),
    };

    declare mugshot: ImageFieldFileType;
    declare w: number | null;
    declare h: number | null;
  }

  /** Every regular file under a folder, relative to it. */
  function filesUnder(folder: string): string[] {
    if (!fs.existsSync(folder)) return [];
    return (fs.readdirSync(folder, { recursive: true }) as string[])
      .filter((entry) => fs.statSync(join(folder, entry)).isFile())
      .sort();
  }

  // ---------------------------------------------------------------------------------------------------------

  describe('uploadTo', () => {
    test('a string is a folder prefix', async () => {
      const doc = new Document();
      await doc.normal.save('x.txt', new ContentFile('x'));
      assert.equal(doc.normal.name, 'tests/x.txt');
      assert.ok(fs.existsSync(join(project.mediaRoot, 'tests', 'x.txt')));
    });

    test("strftime tokens give today's local date ('d/%Y/%m/%d')", async () => {
      class Dated extends Model {
        static override table = 'Dated';
        static override fields = { file: new FileField({ uploadTo: 'd/%Y/%m/%d' }) };
        declare file: FieldFile;
      }
      const before = new Date();
      const dated = new Dated();
      await dated.file.save('x.txt', new ContentFile('dated'));
      const after = new Date();
      const expected = (date: Date) =>
        `d/${date.getFullYear()}/${String(date.getMonth() + 1).padStart(2, '0')}/${String(date.getDate()).padStart(2, '0')}/x.txt`;
      assert.ok([expected(before), expected(after)].includes(dated.file.name), dated.file.name);
      assert.equal(fs.readFileSync(join(project.mediaRoot, dated.file.name), 'utf8'), 'dated');
      assert.equal(strftime('%Y-%m-%d %H:%M:%S %%', new Date(2004, 1, 3, 4, 5, 6)), '2004-02-03 04:05:06 %');
    });

    test('a callable gets the instance and the bare filename, once per save', async () => {
      const calls: [unknown, string][] = [];
      class Called extends Model {
        static override table = 'Called';
        static override fields = {
          owner: new CharField({ blank: true }),
          file: new FileField({
            uploadTo: (instance: Called, filename: string) => {
              calls.push([instance, filename]);
              return `by/${instance.owner}/${filename}`;
            },
          }),
        };
        declare owner: string;
        declare file: FieldFile;
      }
      const called = new Called({ owner: 'ann' });
      await called.file.save('report.txt', new ContentFile('r'));
      assert.equal(called.file.name, 'by/ann/report.txt');
      assert.equal(calls.length, 1);
      assert.equal(calls[0]![0], called);
      assert.equal(calls[0]![1], 'report.txt');
    });

    test("an absolute string uploadTo is refused when the field is made; a callable is not checked then", () => {
      assert.throws(() => new FileField({ uploadTo: '/somewhere' }), (error: unknown) =>
        error instanceof ImproperlyConfigured && /relative path, not an absolute path/.test(error.message) && /leading slash/.test(error.message));
      assert.throws(() => new ImageField({ uploadTo: '/somewhere' }), (error: unknown) =>
        error instanceof ImproperlyConfigured && error.message.startsWith('ImageField'));
      const field = new FileField({ uploadTo: (_instance: unknown, filename: string) => '/' + filename });
      assert.throws(() => field.generateFilename(null, 'x.txt'), {
        name: 'SuspiciousFileOperation',
        message: "Detected path traversal attempt in '/x.txt'",
      });
    });
  });

  describe('FileField.generateFilename(null, name) (§9 items 19–23, 25)', () => {
    const folder = () => new FileField({ uploadTo: 'some/folder/' });

    test('item 19: uploadTo "some/folder/" and the equivalent callable', () => {
      assert.equal(folder().generateFilename(null, 'test with space.txt'), 'some/folder/test_with_space.txt');
      const callable = new FileField({ uploadTo: (_instance: unknown, filename: string) => 'some/folder/' + filename });
      assert.equal(callable.generateFilename(null, 'test with space.txt'), 'some/folder/test_with_space.txt');
    });

    test('item 20: names that cannot name a file', () => {
      const cases: [string, string][] = [
        ['..', 'some/folder/..'], ['.', 'some/folder/.'], ['', 'some/folder/'], ['???', '???'], ['$.$.$', '$.$.$'],
      ];
      for (const [name, shown] of cases) {
        assert.throws(() => folder().generateFilename(null, name), (error: unknown) =>
          error instanceof SuspiciousFileOperation && error.message === `Could not derive file name from '${shown}'`, name);
      }
    });

    test('item 21: path traversal', () => {
      const cases: [string, string][] = [
        ['../path', 'some/folder/../path'], ['/tmp/path', '/tmp/path'], ['/tmp/../path', '/tmp/../path'],
      ];
      for (const [name, shown] of cases) {
        assert.throws(() => folder().generateFilename(null, name), (error: unknown) =>
          error instanceof SuspiciousFileOperation && error.message === `Detected path traversal attempt in '${shown}'`, name);
      }
    });

    test('item 22: a callable returning a constant name ignores the given one', () => {
      const field = new FileField({ uploadTo: () => 'test.txt' });
      for (const name of ['/tmp/..', '/tmp/.', 'some/../test.txt', '', 'some/folder/???', '../path', '$.$.$']) {
        assert.equal(field.generateFilename(null, name), 'test.txt', name);
      }
    });

    test("item 23: a callable returning '/tmp/' + name", () => {
      const field = new FileField({ uploadTo: (_instance: unknown, filename: string) => '/tmp/' + filename });
      for (const name of ['path', '../path', '???', '$.$.$']) {
        assert.throws(() => field.generateFilename(null, name), (error: unknown) =>
          error instanceof SuspiciousFileOperation && error.message === `Detected path traversal attempt in '/tmp/${name}'`, name);
      }
      for (const name of ['..', '.', '']) {
        assert.throws(() => field.generateFilename(null, name), (error: unknown) =>
          error instanceof SuspiciousFileOperation && error.message === `Could not derive file name from '/tmp/${name}'`, name);
      }
    });

    test('item 25: empty uploadTo, strftime and sanitising only the last part', () => {
      assert.equal(new FileField({ uploadTo: '' }).generateFilename(null, 'x.txt'), 'x.txt');
      assert.equal(new FileField().generateFilename(null, 'x.txt'), 'x.txt');
      assert.equal(new FileField({ uploadTo: 'unused' }).generateFilename(null, 'a b/c d.txt'), 'unused/a b/c_d.txt');
      const now = new Date();
      const name = new FileField({ uploadTo: 'd/%Y/%m/%d' }).generateFilename(null, 'x.txt');
      assert.match(name, /^d\/\d{4}\/\d{2}\/\d{2}\/x\.txt$/);
      assert.equal(name.slice(2, 6), String(now.getFullYear()));
    });

    test('the storage decides the last step (generateFilename of a custom storage)', () => {
      class PrefixStorage extends FileSystemStorage {
        override generateFilename(filename: string): string {
          return 'mys3folder/' + filename;
        }
      }
      const field = new FileField({ uploadTo: 'not/a/folder/', storage: new PrefixStorage() });
      assert.equal(field.generateFilename(null, 'my-file-key\\with odd characters'), 'mys3folder/not/a/folder/my-file-key\\with odd characters');
    });
  });

  describe('storage option', () => {
    test('the default is the default storage; an alias and a Storage are used as given', () => {
      assert.equal(new FileField().storage, storages.get('default'));
      assert.equal(new FileField({ storage: 'default' }).storage, storages.get('default'));
      const own = new FileSystemStorage({ location: project.mediaRoot });
      assert.equal(new FileField({ storage: own }).storage, own);
    });

    test('a function is called once, on first use', () => {
      let calls = 0;
      const own = new FileSystemStorage({ location: project.mediaRoot });
      const field = new FileField({ storage: () => (calls++, own) });
      assert.equal(field.storage, own);
      assert.equal(field.storage, own);
      assert.equal(calls, 1);
    });

    test('a Storage subclass is made with new, once, on first use (as Django does)', async () => {
      let made = 0;
      class CountedStorage extends FileSystemStorage {
        constructor() {
          super();
          made++;
        }
      }
      const field = new FileField({ storage: CountedStorage });
      assert.equal(made, 0, 'not made before the settings are needed');
      assert.ok(field.storage instanceof CountedStorage);
      assert.equal(field.storage, field.storage);
      assert.equal(made, 1);
      assert.equal(field.storage.path('a.txt'), join(project.mediaRoot, 'a.txt'), 'made with the settings of first use');

      class Report extends Model {
        static override table = 'Report';
        static override fields = { file: new FileField({ uploadTo: 'reports', storage: FileSystemStorage }) };
        declare file: FieldFile;
      }
      const report = await Report.objects.create({ file: new ContentFile('r', 'r.txt') });
      assert.equal(fs.readFileSync(join(project.mediaRoot, 'reports', 'r.txt'), 'utf8'), 'r');
      assert.equal(report.file.storage.constructor, FileSystemStorage);
    });

    test('anything else is a TypeError when the field is made, saying what it got (§9 item 69)', () => {
      class NotAStorage {}
      const cases: [unknown, RegExp][] = [
        [42, /got the number 42\.$/], [['a'], /got an array\.$/], [new Set(), /got a Set object\.$/], [{}, /got a plain object\.$/],
        [null, /got null\.$/], [NotAStorage, /got the class NotAStorage, which does not extend Storage\.$/],
      ];
      for (const [bad, said] of cases) {
        assert.throws(() => new FileField({ storage: bad as never }), (error: Error) => {
          assert.equal(error.constructor, TypeError);
          assert.match(error.message, /^FileField\.storage must be a Storage, a Storage subclass, a STORAGES alias or a function returning a Storage; /);
          assert.match(error.message, said);
          return true;
        });
      }
      const field = new FileField({ storage: (() => 'not a storage') as never });
      assert.throws(() => field.storage, /got the string not a storage\.$/);
    });
  });

  describe('saving and collisions', () => {
    test('item 62: save() stores, records the size, and a second save of the same name gets RND7', async () => {
      const first = new Document();
      await first.normal.save('django_test.txt', new ContentFile('content'));
      assert.equal(first.normal.name, 'tests/django_test.txt');
      assert.equal(first.normal.size, 7);
      assert.equal(text(await first.normal.read()), 'content');
      await first.normal.close();

      const second = new Document();
      await second.normal.save('django_test.txt', new ContentFile('more content'));
      assert.match(second.normal.name, new RegExp(`^tests/django_test_${RND7}\\.txt$`));
      assert.equal(second.normal.size, 12);
      assert.equal(fs.readFileSync(join(project.mediaRoot, 'tests', 'django_test.txt'), 'utf8'), 'content');
      assert.equal(fs.readFileSync(join(project.mediaRoot, second.normal.name), 'utf8'), 'more content');
      assert.equal(await Document.objects.count(), 2);
    });

    test("two saves of 'x.txt' with uploadTo 'tests' → 'tests/x.txt' and 'tests/x_RND7.txt'", async () => {
      const a = await new Document().normal.save('x.txt', new ContentFile('a'));
      const b = await new Document().normal.save('x.txt', new ContentFile('b'));
      assert.equal(a.name, 'tests/x.txt');
      assert.match(b.name, new RegExp(`^tests/x_${RND7}\\.txt$`));
      assert.deepEqual(filesUnder(project.mediaRoot), [a.name, b.name].sort());
    });

    test('concurrent saves of one name never share a file', async () => {
      const docs = Array.from({ length: 6 }, () => new Document());
      await Promise.all(docs.map((doc, index) => doc.normal.save('same.txt', new ContentFile(`content ${index}`))));
      const names = docs.map((doc) => doc.normal.name);
      assert.equal(new Set(names).size, 6);
      for (const [index, doc] of docs.entries()) {
        assert.equal(fs.readFileSync(join(project.mediaRoot, doc.normal.name), 'utf8'), `content ${index}`);
      }
      assert.equal(await Document.objects.count(), 6);
    });

    test('items 28–29: maxLength shortens a taken name, and refuses when nothing fits', async () => {
      const first = new Document();
      await first.limited.save('filename.ext', new ContentFile('one'));
      assert.equal(first.limited.name, 'tests/filename.ext');
      const second = new Document();
      await second.limited.save('filename.ext', new ContentFile('two'));
      assert.match(second.limited.name, new RegExp(`^tests/fi_${RND7}\\.ext$`));
      assert.equal(second.limited.name.length, 20);

      await new Document().limited.save('short.longext', new ContentFile('three'));
      const third = new Document();
      const message = await rejection(() => third.limited.save('short.longext', new ContentFile('four')), SuspiciousFileOperation);
      assert.match(message, /Storage can not find an available filename/);
      assert.equal(third.id, null);
      assert.equal(third.limited.name, '');
      assert.equal(await Document.objects.count(), 3);
    });

    test('a new name longer than maxLength is shortened even when free (item 30)', async () => {
      const doc = new Document();
      await doc.limited.save('averyverylongname.txt', new ContentFile('x'));
      assert.match(doc.limited.name, new RegExp(`^tests/av_${RND7}\\.txt$`));
    });

    test('save(name, content, { save: false }) stores the file but not the row; instance.save() writes it', async () => {
      const doc = new Document();
      await doc.normal.save('later.txt', new ContentFile('later'), { save: false });
      assert.equal(doc.normal.name, 'tests/later.txt');
      assert.ok(fs.existsSync(join(project.mediaRoot, 'tests', 'later.txt')));
      assert.equal(doc.id, null);
      assert.equal(await Document.objects.count(), 0);
      await doc.save();
      const loaded = await Document.objects.get(doc.id!);
      assert.equal(loaded.normal.name, 'tests/later.txt');
      assert.equal(loaded.normal.size, 5);
      assert.equal(loaded.normal.contentType, 'text/plain');
    });

    test('a File over a local file, a Blob and raw bytes are all stored byte for byte', async () => {
      const notes = bytesOf('notes.txt');
      const doc = new Document();
      const handle = await File.open(fixture('notes.txt'));
      try {
        await doc.normal.save('from-file.txt', handle);
      } finally {
        await handle.close();
      }
      await doc.myfile.save('from-blob.txt', new File(new Blob([new Uint8Array(notes)])));
      assert.deepEqual(fs.readFileSync(join(project.mediaRoot, doc.normal.name)), notes);
      assert.deepEqual(fs.readFileSync(join(project.mediaRoot, doc.myfile.name)), notes);
      assert.equal(doc.normal.size, notes.byteLength);
      assert.equal(doc.myfile.size, notes.byteLength);
    });

    test('a non-ASCII name with spaces is made valid, the content kept', async () => {
      const doc = new Document();
      await doc.normal.save('résumé café.txt', new File(openFixture('résumé café.txt')));
      assert.equal(doc.normal.name, 'tests/résumé_café.txt');
      assert.deepEqual(fs.readFileSync(join(project.mediaRoot, 'tests', 'résumé_café.txt')), bytesOf('résumé café.txt'));
      assert.equal(doc.normal.url, '/media/tests/r%C3%A9sum%C3%A9_caf%C3%A9.txt');
    });
  });

  describe('content given to a save', () => {
    test("a string is refused with a TypeError pointing to ContentFile and File.open; nothing is stored, no row written", async () => {
      const doc = new Document();
      await assert.rejects(doc.normal.save('a.pdf', 'report.pdf' as never), (error: Error) => {
        assert.equal(error.constructor, TypeError);
        assert.match(error.message, /'report\.pdf'.*new ContentFile\(text\).*await File\.open\(path\)/);
        return true;
      });
      await assert.rejects(doc.normal.save('b.txt', 'text' as never, { save: false }), TypeError);
      assert.equal(doc.normal.name, '');
      assert.equal(await Document.objects.count(), 0);
      assert.deepEqual(filesUnder(project.mediaRoot), []);
    });

    const openDescriptors = (): number => fs.readdirSync('/proc/self/fd').length;

    test('a File that File.open() opened is closed by the save (stored or refused), and opens again if read later', { skip: !fs.existsSync('/proc/self/fd') && 'no /proc here' }, async () => {
      // A first save opens what stays open (the journal's log): counted in `before`.
      await new Document().normal.save('warm-up.txt', new ContentFile('w'));
      const before = openDescriptors();
      const opened = await File.open(fixture('notes.txt'), 'notes.txt');
      assert.equal(openDescriptors(), before + 1);
      const doc = new Document();
      await doc.normal.save('notes.txt', opened);
      assert.equal(opened.closed, true, 'closed once stored');
      assert.equal(openDescriptors(), before);

      // The same File saved again: opened again for the save, closed again after it.
      const again = await Document.objects.create({ normal: opened });
      assert.equal(opened.closed, true);
      assert.equal(openDescriptors(), before);
      assert.deepEqual(fs.readFileSync(join(project.mediaRoot, again.normal.name)), bytesOf('notes.txt'));
      assert.equal(again.normal.size, bytesOf('notes.txt').byteLength);

      // Refused by an ImageField before any storage sees it: closed too.
      const notAnImage = await File.open(fixture('notes.txt'));
      await assert.rejects(new Person().mugshot.save('mug.png', notAnImage), ValidationError);
      assert.equal(notAnImage.closed, true);
      // And by storage.save directly.
      const direct = await File.open(fixture('notes.txt'));
      await storages.get('default').save('direct.txt', direct);
      assert.equal(direct.closed, true);
      assert.equal(openDescriptors(), before);
    });

    test('a descriptor the caller opened stays open: it is the caller\'s to close', async () => {
      const fd = openFixture('notes.txt');
      await new Document().normal.save('notes.txt', new File(fd));
      assert.equal(fs.fstatSync(fd).size, bytesOf('notes.txt').byteLength);
    });
  });

  describe('an empty FieldFile (§9 items 61, 67)', () => {
    const NO_FILE = "The 'picture' attribute has no file associated with it.";

    test("name is '', and path/url/size/open()/read()/width/contentType throw the ValueError message", async () => {
      const profile = new Profile();
      assert.equal(profile.picture.name, '');
      assert.equal(String(profile.picture), '');
      assert.throws(() => profile.picture.path, { message: NO_FILE });
      assert.throws(() => profile.picture.url, { message: NO_FILE });
      assert.throws(() => profile.picture.size, { message: NO_FILE });
      assert.throws(() => profile.picture.width, { message: NO_FILE });
      assert.throws(() => profile.picture.height, { message: NO_FILE });
      assert.throws(() => profile.picture.contentType, { message: NO_FILE });
      await assert.rejects(profile.picture.open(), { message: NO_FILE });
      await assert.rejects(profile.picture.read(), { message: NO_FILE });
      await assert.rejects(profile.picture.signedUrl({ expiresIn: 60 }), { message: NO_FILE });
      await assert.rejects(async () => {
        for await (const _chunk of profile.picture.chunks()) assert.fail('no chunk expected');
      }, { message: NO_FILE });
    });

    test('the message names the field', () => {
      const doc = new Document();
      assert.throws(() => doc.normal.url, { message: "The 'normal' attribute has no file associated with it." });
    });

    test('delete() on an empty FieldFile is a no-op (no row written, no error)', async () => {
      const profile = new Profile();
      await profile.picture.delete();
      assert.equal(profile.id, null);
      assert.equal(await Profile.objects.count(), 0);
    });

    test("an empty file field is stored as '' (as Django does) and loads as an empty FieldFile", async () => {
      const doc = await Document.objects.create({ title: 'empty' });
      const loaded = await Document.objects.get(doc.id!);
      assert.ok(loaded.normal instanceof FieldFile);
      assert.equal(loaded.normal.name, '');
      const [row] = await storedRows('Document');
      assert.equal(row!.normal, '');
      assert.equal(row!.normal_size, null);
    });
  });

  describe('reading a stored file (§9 items 64, 76)', () => {
    test('read(3), read(), then chunks(2) from the start', async () => {
      const doc = new Document();
      await doc.normal.save('content.txt', new ContentFile('content'));
      const loaded = await Document.objects.get(doc.id!);
      assert.equal(text(await loaded.normal.read(3)), 'con');
      assert.equal(text(await loaded.normal.read()), 'tent');
      const pieces: string[] = [];
      for await (const chunk of loaded.normal.chunks(2)) pieces.push(text(chunk));
      assert.deepEqual(pieces, ['co', 'nt', 'en', 't']);
      await loaded.normal.close();
      assert.equal(loaded.normal.closed, true);
    });

    test('open() after a save starts at 0; close() closes; open() again reads from the start', async () => {
      const doc = new Document();
      await doc.normal.save('open.txt', new ContentFile('0123456789'));
      const opened = await doc.normal.open();
      assert.equal(opened, doc.normal);
      assert.equal(doc.normal.tell(), 0);
      assert.equal(text(await doc.normal.read(4)), '0123');
      await doc.normal.open();
      assert.equal(doc.normal.tell(), 0);
      await doc.normal.close();
      assert.equal(doc.normal.closed, true);
      await doc.normal.open();
      assert.equal(text(await doc.normal.read()), '0123456789');
      await doc.normal.close();
    });
  });

  describe('a stored file as the content of another save', () => {
    test('a FieldFile not opened yet is read whole by storage.save(), with or without FILE_UPLOAD_MAX_SIZE', async () => {
      const doc = new Document();
      await doc.normal.save('source.txt', new ContentFile('stored content'));
      for (const limit of [null, 1000]) {
        await configure(project.settings({ FILE_UPLOAD_MAX_SIZE: limit }));
        const loaded = await Document.objects.get(doc.id!);
        const name = await loaded.normal.storage.save('copies/copy.txt', loaded.normal);
        assert.equal(fs.readFileSync(join(project.mediaRoot, name), 'utf8'), 'stored content', `limit ${limit}`);
        await loaded.normal.close();
      }
    });
  });

  describe('assignment (§9 items 63, 66)', () => {
    test('a File assigned is not written until instance.save(); then it is', async () => {
      const doc = new Document();
      doc.normal = new ContentFile('assigned', 'assignment.txt') as never;
      assert.ok(doc.normal instanceof FieldFile);
      assert.equal(doc.normal.committed, false);
      assert.equal(doc.normal.size, 8);
      assert.deepEqual(filesUnder(project.mediaRoot), []);
      await doc.save();
      assert.equal(doc.normal.committed, true);
      assert.equal(doc.normal.name, 'tests/assignment.txt');
      assert.deepEqual(fs.readdirSync(join(project.mediaRoot, 'tests')), ['assignment.txt']);
      assert.equal((await Document.objects.get(doc.id!)).normal.name, 'tests/assignment.txt');
    });

    test('a File given to the constructor, or to objects.create(), is stored by the save', async () => {
      const made = await Document.objects.create({ normal: new ContentFile('created', 'created.txt') });
      assert.equal(made.normal.name, 'tests/created.txt');
      assert.equal(fs.readFileSync(join(project.mediaRoot, 'tests', 'created.txt'), 'utf8'), 'created');
    });

    test('a nameless ContentFile assigned → FieldError naming the field, with the ContentFile note; nothing stored', async () => {
      const doc = new Document();
      doc.myfile = new ContentFile(new Uint8Array(0)) as never;
      const message = await rejection(() => doc.save(), FieldError);
      assert.match(message, /^File for myfile must have the name attribute specified to be saved\./);
      assert.ok(message.includes("Pass a 'name' argument to ContentFile."), message);
      assert.equal(await Document.objects.count(), 0);
      assert.deepEqual(filesUnder(project.mediaRoot), []);
    });

    test('a nameless File that is not a ContentFile → FieldError without the ContentFile note', async () => {
      const doc = new Document();
      doc.myfile = new File(new Blob(['x'])) as never;
      const message = await rejection(() => doc.save(), FieldError);
      assert.equal(message, 'File for myfile must have the name attribute specified to be saved.');
    });

    test('a File whose name is an absolute path → SuspiciousFileOperation naming it; no row, no file', async () => {
      const path = fixture('notes.txt');
      const doc = new Document();
      const opened = await File.open(path);
      doc.normal = opened as never;
      try {
        const message = await rejection(() => doc.save(), SuspiciousFileOperation);
        assert.equal(message, `Detected path traversal attempt in '${path}'`);
      } finally {
        await opened.close();
      }
      assert.equal(await Document.objects.count(), 0);
      assert.deepEqual(filesUnder(project.mediaRoot), []);
    });

    test('a name assigned records the reference only: no file is read; size and type stay unknown until refreshMetadata()', async () => {
      const first = new Document();
      await first.normal.save('shared.txt', new ContentFile('shared!'));
      const other = new Document();
      other.normal = first.normal.name as never;
      assert.equal(other.normal.name, 'tests/shared.txt');
      await other.save();
      assert.throws(() => other.normal.size, /The size of 'tests\/shared\.txt' is not known yet/);
      const loaded = await Document.objects.get(other.id!);
      assert.equal(loaded.normal.name, 'tests/shared.txt');
      assert.throws(() => loaded.normal.contentType, /The content type of 'tests\/shared\.txt' is not known yet/);
      assert.deepEqual(await loaded.normal.refreshMetadata(), { size: 7, contentType: 'text/plain' });
      assert.deepEqual(filesUnder(project.mediaRoot), ['tests/shared.txt'], 'no copy is made');
    });

    test('a name of a file that does not exist (yet) is saved as given, by assignment and by create()', async () => {
      const doc = new Document({ normal: 'something.txt' });
      await doc.save();
      assert.equal((await Document.objects.get(doc.id!)).normal.name, 'something.txt');
      const created = await Document.objects.create({ normal: 'tests/later.txt', title: 'later' });
      assert.equal((await Document.objects.get(created.id!)).normal.name, 'tests/later.txt');
      assert.deepEqual(filesUnder(project.mediaRoot), [], 'nothing is read or written');
    });

    test('null or "" assigned empties the field; a wrong type is a TypeError', async () => {
      const doc = new Document();
      await doc.normal.save('gone.txt', new ContentFile('x'));
      doc.normal = null as never;
      assert.equal(doc.normal.name, '');
      await doc.save();
      assert.equal((await Document.objects.get(doc.id!)).normal.name, '');
      assert.ok(fs.existsSync(join(project.mediaRoot, 'tests', 'gone.txt')), 'unassigning does not delete the file');
      doc.normal = '' as never;
      assert.equal(doc.normal.name, '');
      assert.throws(() => { doc.normal = 42 as never; }, TypeError);
    });
  });

  describe('delete (§9 item 67)', () => {
    test('delete() removes the file, empties the field and saves the row', async () => {
      const doc = new Document();
      await doc.myfile.save('foo', new ContentFile(new Uint8Array(0), 'foo'));
      const stored = join(project.mediaRoot, doc.myfile.name);
      assert.ok(fs.existsSync(stored));
      await doc.myfile.delete();
      assert.equal(doc.myfile.name, '');
      assert.equal(fs.existsSync(stored), false);
      assert.throws(() => doc.myfile.size, { message: "The 'myfile' attribute has no file associated with it." });
      const loaded = await Document.objects.get(doc.id!);
      assert.equal(loaded.myfile.name, '');
    });

    test('delete({ save: false }) removes the file but leaves the row until the instance is saved', async () => {
      const doc = new Document();
      await doc.myfile.save('bar.txt', new ContentFile('bar'));
      const name = doc.myfile.name;
      await doc.myfile.delete({ save: false });
      assert.equal(doc.myfile.name, '');
      assert.equal(fs.existsSync(join(project.mediaRoot, name)), false);
      assert.equal((await Document.objects.get(doc.id!)).myfile.name, name, 'the row still names the file');
      await doc.save();
      assert.equal((await Document.objects.get(doc.id!)).myfile.name, '');
    });

    test('deleting the instance deletes the row, not its file', async () => {
      const doc = new Document();
      await doc.normal.save('kept.txt', new ContentFile('kept'));
      await doc.delete();
      assert.equal(doc.id, null);
      assert.equal(await Document.objects.count(), 0);
      assert.ok(fs.existsSync(join(project.mediaRoot, 'tests', 'kept.txt')));
      await assert.rejects(doc.delete(), ValidationError);
    });
  });

  describe('FieldFile.equals (§9 item 68)', () => {
    test('equal to its name string and to another FieldFile of the same name', async () => {
      const doc = new Document();
      await doc.normal.save('eq.txt', new ContentFile('eq'));
      const loaded = await Document.objects.get(doc.id!);
      assert.ok(doc.normal.equals('tests/eq.txt'));
      assert.ok(doc.normal.equals(loaded.normal));
      assert.ok(loaded.normal.equals(doc.normal));
      assert.ok(!doc.normal.equals('tests/other.txt'));
      assert.ok(!doc.normal.equals(doc.myfile));
      assert.ok(new Document().normal.equals(''));
      assert.ok(new Document().normal.equals(new Document().myfile));
      assert.equal(JSON.stringify({ file: doc.normal }), '{"file":"tests/eq.txt"}');
    });
  });

  describe('ImageField with widthField and heightField (§9 items 72–76)', () => {
    const FOUR_BY_EIGHT = () => new File(openFixture('4x8.png'), '4x8.png');
    const EIGHT_BY_FOUR = () => new File(openFixture('8x4.png'), '8x4.png');

    beforeEach(() => {
      countingStorage.opened.length = 0;
    });

    test('item 72: given to the constructor → 4, 8 after the save; null clears; another file → 8, 4', async () => {
      const person = new Person({ name: 'Joe', mugshot: FOUR_BY_EIGHT() });
      await person.save();
      assert.equal(person.mugshot.width, 4);
      assert.equal(person.mugshot.height, 8);
      assert.equal(person.mugshotWidth, 4);
      assert.equal(person.mugshotHeight, 8);

      person.mugshot = null as never;
      assert.equal(person.mugshotWidth, null);
      assert.equal(person.mugshotHeight, null);
      assert.throws(() => person.mugshot.width, { message: "The 'mugshot' attribute has no file associated with it." });

      person.mugshot = EIGHT_BY_FOUR() as never;
      // Measured when stored (reading is asynchronous): until then the old size is not kept.
      assert.notEqual(person.mugshotWidth, 4);
      await person.save();
      assert.equal(person.mugshotWidth, 8);
      assert.equal(person.mugshotHeight, 4);
      const loaded = await Person.objects.get(person.id!);
      assert.equal(loaded.mugshotWidth, 8);
      assert.equal(loaded.mugshotHeight, 4);
    });

    test('item 73: save("mug", file) sets the dimensions; delete({ save: false }) clears them', async () => {
      const person = new Person({ name: 'Joe' });
      await person.mugshot.save('mug', FOUR_BY_EIGHT());
      assert.equal(person.mugshot.name, 'tests/mug.png', 'the extension the bytes call for is added');
      assert.deepEqual([person.mugshotWidth, person.mugshotHeight], [4, 8]);
      assert.deepEqual([person.mugshot.width, person.mugshot.height], [4, 8]);

      await person.mugshot.save('mug', EIGHT_BY_FOUR());
      assert.match(person.mugshot.name, new RegExp(`^tests/mug_${RND7}\\.png$`));
      assert.deepEqual([person.mugshotWidth, person.mugshotHeight], [8, 4]);
      assert.deepEqual([person.mugshot.width, person.mugshot.height], [8, 4]);

      await person.mugshot.delete({ save: false });
      assert.equal(person.mugshot.name, '');
      assert.equal(person.mugshotWidth, null);
      assert.equal(person.mugshotHeight, null);
      assert.deepEqual(
        [(await Person.objects.get(person.id!)).mugshotWidth, (await Person.objects.get(person.id!)).mugshotHeight],
        [8, 4],
        'the row changes when the instance is saved',
      );
      await person.save();
      const loaded = await Person.objects.get(person.id!);
      assert.deepEqual([loaded.mugshotWidth, loaded.mugshotHeight], [null, null]);
    });

    test('delete() (saving) clears the dimension fields in the row too', async () => {
      const person = new Person();
      await person.mugshot.save('mug.png', FOUR_BY_EIGHT());
      await person.mugshot.delete();
      const loaded = await Person.objects.get(person.id!);
      assert.equal(loaded.mugshot.name, '');
      assert.deepEqual([loaded.mugshotWidth, loaded.mugshotHeight], [null, null]);
    });

    test('item 74: a loaded instance with dimensions does not open the file', async () => {
      const person = new Person();
      await person.mugshot.save('mug.png', FOUR_BY_EIGHT());
      countingStorage.opened.length = 0;
      const loaded = await Person.objects.get(person.id!);
      assert.deepEqual([loaded.mugshotWidth, loaded.mugshotHeight], [4, 8]);
      assert.deepEqual([loaded.mugshot.width, loaded.mugshot.height], [4, 8]);
      assert.equal(loaded.mugshot.size, bytesOf('4x8.png').byteLength);
      await loaded.save();
      assert.deepEqual(countingStorage.opened, []);
      assert.ok(loaded.mugshot instanceof ImageFieldFile);
    });

    test("assigning another instance's FieldFile takes its name and dimensions at once", async () => {
      const source = new Person();
      await source.mugshot.save('mug.png', EIGHT_BY_FOUR());
      const target = new Person();
      target.mugshot = source.mugshot as never;
      assert.equal(target.mugshot.name, source.mugshot.name);
      assert.notEqual(target.mugshot, source.mugshot);
      assert.equal(target.mugshot.instance, target);
      assert.deepEqual([target.mugshotWidth, target.mugshotHeight], [8, 4]);
      assert.equal(source.mugshot.instance, source);
    });

    test('a stored name assigned by hand is not read by the save; refreshMetadata() measures it', async () => {
      const source = new Person();
      await source.mugshot.save('mug.png', FOUR_BY_EIGHT());
      const target = new Person();
      target.mugshot = source.mugshot.name as never;
      assert.equal(target.mugshotWidth, null);
      await target.save();
      assert.deepEqual([target.mugshotWidth, target.mugshotHeight], [null, null]);
      await target.mugshot.refreshMetadata();
      assert.deepEqual([target.mugshotWidth, target.mugshotHeight], [4, 8]);
      assert.equal(target.mugshot.contentType, 'image/png');
    });

    test('item 75: dimensions come from the content, so a storage that cannot open still gets them', async () => {
      const first = new Unopenable();
      await first.mugshot.save('mug', FOUR_BY_EIGHT());
      assert.deepEqual([first.w, first.h], [4, 8]);
      assert.deepEqual([first.mugshot.width, first.mugshot.height], [4, 8]);
      const second = new Unopenable();
      await second.mugshot.save('mug', FOUR_BY_EIGHT());
      assert.notEqual(second.mugshot.name, first.mugshot.name);
      await assert.rejects(second.mugshot.open(), /not available in this storage/);
    });

    test('item 76: after a save, open() gives the file from position 0', async () => {
      const person = new Person();
      await person.mugshot.save('mug.png', FOUR_BY_EIGHT());
      const opened = await person.mugshot.open();
      try {
        assert.equal(opened.tell(), 0);
        assert.deepEqual(Buffer.from(await opened.read()), bytesOf('4x8.png'));
      } finally {
        await opened.close();
      }
    });

    test('without width and height fields, the FieldFile still knows the size', async () => {
      const profile = new Profile();
      await profile.picture.save('tall.png', FOUR_BY_EIGHT());
      assert.deepEqual([profile.picture.width, profile.picture.height], [4, 8]);
      // The row keeps what the save learned in columns of the file field's own, none for width/height fields.
      assert.deepEqual(Object.keys(profile.toRow()).sort(), ['name', 'picture', 'picture_content_type', 'picture_height', 'picture_size', 'picture_width']);
    });
  });

  describe('CharField and IntegerField', () => {
    class Item extends Model {
      static override table = 'Item';
      static override fields = {
        title: new CharField({ maxLength: 5 }),
        note: new CharField({ blank: true, default: 'none' }),
        count: new IntegerField({ default: 0 }),
        optional: new IntegerField({ null: true, blank: true }),
      };

      declare title: string;
      declare note: string;
      declare count: number | null;
      declare optional: number | null;
    }

    test('defaults, and fullClean() on maxLength (code points) and blank', () => {
      const item = new Item();
      assert.equal(item.title, '');
      assert.equal(item.note, 'none');
      assert.equal(item.count, 0);
      assert.equal(item.optional, null);
      assert.throws(() => item.fullClean(), (error: unknown) =>
        error instanceof ValidationError && error.code === 'blank' && error.message === 'title: This field cannot be blank.');
      item.title = 'héllo';
      item.fullClean();
      item.title = 'toolong';
      assert.throws(() => item.fullClean(), (error: unknown) =>
        error instanceof ValidationError && error.code === 'max_length'
        && error.message === 'title: Ensure this value has at most 5 characters (it has 7).');
      item.title = '😀😀😀😀😀';
      item.fullClean();
    });

    test('fullClean() reports a missing required file', () => {
      class Required extends Model {
        static override table = 'Required';
        static override fields = { file: new FileField() };
        declare file: FieldFile;
      }
      assert.throws(() => new Required().fullClean(), { name: 'ValidationError', message: 'file: This field cannot be blank.' });
      const doc = new Document();
      doc.fullClean();
    });

    test('CharField takes strings (null becomes ""); anything else is a TypeError', () => {
      const item = new Item({ title: 'a' });
      item.title = null as never;
      assert.equal(item.title, '');
      assert.throws(() => { item.title = 5 as never; }, TypeError);
    });

    test('IntegerField takes whole numbers and numeric strings; "" and null are null', async () => {
      const item = new Item({ title: 'n' });
      item.count = '12' as never;
      assert.equal(item.count, 12);
      item.count = '' as never;
      assert.equal(item.count, null);
      assert.throws(() => { item.count = 1.5; }, TypeError);
      assert.throws(() => { item.count = 'abc' as never; }, TypeError);
      assert.throws(() => { item.count = Number.MAX_SAFE_INTEGER + 1; }, TypeError);
      item.count = 7;
      await item.save();
      const loaded = await Item.objects.get(item.id!);
      assert.equal(loaded.count, 7);
      assert.equal(loaded.title, 'n');
    });

    test('an unknown field is refused by the constructor', () => {
      assert.throws(() => new Item({ nope: 1 }), /unexpected field 'nope'/);
    });
  });

  describe('Manager', () => {
    class Book extends Model {
      static override table = 'Book';
      static override fields = {
        title: new CharField(),
        pages: new IntegerField({ null: true }),
        cover: new FileField({ uploadTo: 'covers', blank: true }),
      };

      declare title: string;
      declare pages: number | null;
      declare cover: FieldFile;
    }

    test('create/all/get/filter/first/last/count', async () => {
      assert.equal(await Book.objects.count(), 0);
      assert.equal(await Book.objects.first(), null);
      assert.equal(await Book.objects.last(), null);
      assert.deepEqual(await Book.objects.all(), []);

      const a = await Book.objects.create({ title: 'A', pages: 10 });
      const b = await Book.objects.create({ title: 'B', pages: 20, cover: new ContentFile('cover', 'b.txt') });
      const c = await Book.objects.create({ title: 'C', pages: 10 });
      assert.ok(a instanceof Book);
      assert.deepEqual([a.id, b.id, c.id], [1, 2, 3]);

      assert.equal(await Book.objects.count(), 3);
      assert.deepEqual((await Book.objects.all()).map((book) => book.title), ['A', 'B', 'C']);
      assert.equal((await Book.objects.get(2)).title, 'B');
      assert.equal((await Book.objects.get({ title: 'C' })).id, 3);
      assert.equal((await Book.objects.get({ cover: 'covers/b.txt' })).id, 2);
      assert.equal((await Book.objects.get({ cover: b.cover })).id, 2);
      assert.deepEqual((await Book.objects.filter({ pages: 10 })).map((book) => book.id), [1, 3]);
      assert.deepEqual((await Book.objects.filter({ cover: null })).map((book) => book.id), [1, 3]);
      assert.deepEqual((await Book.objects.filter((book: Book) => (book.pages ?? 0) > 15)).map((book) => book.title), ['B']);
      assert.deepEqual(await Book.objects.filter({ title: 'Z' }), []);
      assert.equal((await Book.objects.first())?.title, 'A');
      assert.equal((await Book.objects.last())?.title, 'C');

      const loaded = await Book.objects.get({ id: 2 });
      assert.equal(loaded.cover.name, 'covers/b.txt');
      assert.equal(loaded.cover.size, 5);
    });

    test('DoesNotExist and MultipleObjectsReturned messages', async () => {
      await Book.objects.create({ title: 'A', pages: 1 });
      await Book.objects.create({ title: 'B', pages: 1 });
      await assert.rejects(Book.objects.get(99), (error: unknown) =>
        error instanceof DoesNotExist && error.message === 'Book matching query does not exist.');
      await assert.rejects(Book.objects.get({ title: 'nope' }), (error: unknown) =>
        error instanceof DoesNotExist && error.message === 'Book matching query does not exist.');
      await assert.rejects(Book.objects.get({ pages: 1 }), (error: unknown) =>
        error instanceof MultipleObjectsReturned && error.message === 'get() returned more than one Book -- it returned 2!');
      await assert.rejects(Book.objects.filter({ nope: 1 }), TypeError);
    });

    test('ids keep growing after the last row is deleted; saving again updates the same row', async () => {
      const a = await Book.objects.create({ title: 'A' });
      const b = await Book.objects.create({ title: 'B' });
      await b.delete();
      const c = await Book.objects.create({ title: 'C' });
      assert.equal(c.id, 3, 'an id is never reused');
      a.title = 'A2';
      await a.save();
      assert.equal(await Book.objects.count(), 2);
      assert.equal((await Book.objects.get(a.id!)).title, 'A2');
      await a.refreshFromDb();
      assert.equal(a.title, 'A2');
    });

    test('the rows live in the DATABASE, one column per field and per thing the save learned of a file', async () => {
      await Book.objects.create({ title: 'A', cover: new ContentFile('hi', 'hi.txt') });
      if (project.engine !== 'postgresql') assert.equal(settings.DATABASE, project.database);
      if (project.engine === 'json') assert.ok(fs.readFileSync(project.database, 'utf8').includes('"tables":{"Book":['));
      assert.deepEqual(await storedRows('Book'), [{ id: 1, title: 'A', pages: null, cover: 'covers/hi.txt', cover_size: 2, cover_content_type: 'text/plain' }]);
    });

  });
});
