// What the Storage base refuses or answers for every backend: reserved names, NUL bytes, symlink loops,
// the root, and the created time (issue 9, items 3, 9 and 13).
import { after, test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContentFile, FileSystemStorage, InMemoryStorage, SuspiciousFileOperation, getValidFilename } from '../src/index.ts';

const scratch = mkdtempSync(join(tmpdir(), 'filefield-names-'));
let counter = 0;
const freshLocation = () => mkdtempSync(join(scratch, `${counter++}-`));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe("names reserved for the storage's own files (item 3)", () => {
  for (const [label, make] of [
    ['FileSystemStorage', () => new FileSystemStorage({ location: freshLocation() })],
    ['InMemoryStorage', () => new InMemoryStorage()],
  ] as const) {
    test(`${label}: a temporary file's name is refused at save time, in any folder; dot files stay allowed`, async () => {
      const storage = make();
      for (const name of ['.filefield-tmp-4000000-abcdefgh', 'docs/.filefield-tmp-1-x', '.filefield-headers-a.txt']) {
        await assert.rejects(storage.save(name, new ContentFile('mine')), (error: unknown) => {
          assert.ok(error instanceof SuspiciousFileOperation, String(error));
          assert.match(error.message, /is reserved for the storage's own files/);
          return true;
        });
        await assert.rejects(storage.open(name), SuspiciousFileOperation);
        assert.equal(await storage.exists(name), false);
      }
      assert.equal(await storage.save('docs/.htaccess', new ContentFile('x')), 'docs/.htaccess');
      // The name helpers keep matching Django's.
      assert.equal(getValidFilename('.filefield-tmp-4000000-abcdefgh'), '.filefield-tmp-4000000-abcdefgh');
    });
  }

});

describe('NUL bytes, symlink loops and the root (item 9)', () => {
  test('a NUL byte in a name is a SuspiciousFileOperation for every operation', async () => {
    for (const storage of [new FileSystemStorage({ location: freshLocation() }), new InMemoryStorage()]) {
      const name = 'a\0b.txt';
      for (const run of [
        () => storage.save(name, new ContentFile('x')),
        () => storage.open(name),
        () => storage.exists(name),
        () => storage.delete(name),
        () => storage.size(name),
        () => storage.listdir(name),
      ]) {
        await assert.rejects(run(), { name: 'SuspiciousFileOperation', message: "The name 'a\\x00b.txt' contains a NUL byte" });
      }
    }
  });

  test('a symlink loop inside the location is a SuspiciousFileOperation naming the path', async () => {
    const location = freshLocation();
    symlinkSync('loop', join(location, 'loop'));
    const storage = new FileSystemStorage({ location });
    for (const run of [() => storage.exists('loop/x.txt'), () => storage.open('loop/x.txt'), () => storage.save('loop/x.txt', new ContentFile('x'))]) {
      await assert.rejects(run(), (error: unknown) => {
        assert.ok(error instanceof SuspiciousFileOperation, String(error));
        assert.equal(error.message, `The path (${join(location, 'loop', 'x.txt')}) cannot be resolved: it runs into a loop of symbolic links`);
        return true;
      });
    }
    assert.throws(() => storage.path('loop/x.txt'), SuspiciousFileOperation);
  });

  test("exists('') is false: the root is no file", async () => {
    assert.equal(await new FileSystemStorage({ location: freshLocation() }).exists(''), false);
    assert.equal(await new InMemoryStorage().exists(''), false);
  });
});

test('getCreatedTime() is the stored file\'s ctime, as Django returns (item 13)', async () => {
  const storage = new FileSystemStorage({ location: freshLocation() });
  for (let index = 0; index < 5; index++) {
    const name = await storage.save(`created-${index}.txt`, new ContentFile('x'.repeat(1000)));
    assert.equal((await storage.getCreatedTime(name)).getTime(), statSync(storage.path(name)).ctime.getTime());
  }
});
