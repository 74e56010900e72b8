/**
 * Storage conformance: behaviour every backend must have, whatever it stores into (disk, memory, S3,
 * Azure, SFTP). A backend's test file calls storageConformance() once with a setup that returns a fresh
 * storage (and, optionally, a cleanup).
 *
 * Names used here live under a random folder per test so that backends with a shared root (a bucket, a
 * container) are not disturbed by leftovers; the cases whose expected lengths depend on the folder use
 * folders of a fixed length.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ContentFile, File, InMemoryStorage, Storage, SuspiciousFileOperation } from '../../src/index.ts';

export interface ConformanceOptions {
  /**
   * true: path(name) is an absolute local path holding the saved bytes (local disk backends).
   * false: path() throws "This backend doesn't support absolute paths." (remote backends).
   * undefined: path() is not checked (InMemoryStorage has a path() but no file behind it).
   */
  hasPath?: boolean;
  /** Size of the streamed-save case, in MiB (default 50). */
  largeFileMiB?: number;
  /** Largest allowed RSS growth during the streamed save, in MiB (default 64). */
  maxRssGrowthMiB?: number;
}

export interface ConformanceSetup {
  storage: Storage;
  cleanup?: () => Promise<void>;
}

const MiB = 1024 * 1024;
const RANDOM_SEVEN = '[A-Za-z0-9]{7}';
const NOT_IMPLEMENTED_SIGNED_URL = 'subclasses of Storage must provide a signedUrl() method';

/** A short random folder name (letters and digits), `length` characters long. */
export function randomFolder(length = 10): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(length);
  let result = '';
  for (const byte of bytes) result += alphabet[byte % alphabet.length];
  return result;
}

/** All bytes of a File, through chunks() (for small files only). */
export async function readAll(file: File): Promise<Buffer> {
  const pieces: Uint8Array[] = [];
  for await (const chunk of file.chunks()) pieces.push(Buffer.from(chunk));
  return Buffer.concat(pieces);
}

/** Opens a stored name and returns its bytes, closing the file. */
export async function readStored(storage: Storage, name: string): Promise<Buffer> {
  const file = await storage.open(name);
  try {
    return await readAll(file);
  } finally {
    await file.close();
  }
}

/**
 * A Readable of `totalBytes` generated on the fly in 64 KiB pieces (each different), never held whole.
 * `digest()` gives the sha256 of everything it produced, once it has ended.
 */
export function generatedStream(totalBytes: number, pieceSize = 64 * 1024): { stream: Readable; digest: () => string } {
  const hash = createHash('sha256');
  let produced = 0;
  let counter = 0;
  let finalDigest: string | undefined;
  const stream = new Readable({
    read() {
      if (produced >= totalBytes) {
        finalDigest = hash.digest('hex');
        this.push(null);
        return;
      }
      const length = Math.min(pieceSize, totalBytes - produced);
      const piece = Buffer.allocUnsafe(length);
      piece.fill(counter & 0xff);
      for (let offset = 0; offset + 4 <= length; offset += 4096) piece.writeUInt32LE((counter * 977 + offset) >>> 0, offset);
      counter++;
      produced += length;
      hash.update(piece);
      this.push(piece);
    },
  });
  return {
    stream,
    digest: () => {
      if (finalDigest === undefined) throw new Error('The generated stream has not ended yet.');
      return finalDigest;
    },
  };
}

/** A Readable that sends `beforeFailure` bytes and then fails, like a client connection that drops. */
export function failingStream(beforeFailure: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= beforeFailure) {
        this.destroy(new Error('the client went away'));
        return;
      }
      const piece = Buffer.alloc(Math.min(256 * 1024, beforeFailure - sent), 7);
      sent += piece.byteLength;
      this.push(piece);
    },
  });
}

/**
 * A full garbage collection, where one can be had (V8's gc, exposed at run time); undefined otherwise.
 * Used so that memory checks measure what a save keeps alive, not garbage that V8 has not collected yet.
 */
const collectGarbage: (() => void) | undefined = (() => {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
})();

/**
 * Samples the process RSS every `intervalMs` until stopped; returns the largest growth over the start.
 * A full GC runs before the first sample and before each later one (when V8 allows it), so the growth is
 * that of memory kept alive (buffers held by the code under test), not of garbage awaiting collection.
 */
export function rssSampler(intervalMs = 5): { stop: () => number } {
  const sample = () => {
    collectGarbage?.();
    return process.memoryUsage.rss();
  };
  const start = sample();
  let peak = start;
  const timer = setInterval(() => {
    const rss = sample();
    if (rss > peak) peak = rss;
  }, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      const rss = sample();
      if (rss > peak) peak = rss;
      return peak - start;
    },
  };
}

/** Asserts that `promise` rejects (or `run` throws) a SuspiciousFileOperation with exactly `message`. */
export async function assertSuspicious(run: () => Promise<unknown> | unknown, message: string): Promise<void> {
  await assert.rejects(
    async () => {
      await run();
    },
    (error: unknown) => {
      assert.ok(error instanceof SuspiciousFileOperation, `expected SuspiciousFileOperation, got ${String(error)}`);
      assert.equal(error.message, message);
      return true;
    },
  );
}

function assertNearNow(date: Date, label: string): void {
  assert.ok(date instanceof Date, `${label} is not a Date`);
  assert.ok(!Number.isNaN(date.getTime()), `${label} is an invalid Date`);
  const distance = Math.abs(date.getTime() - Date.now());
  assert.ok(distance <= 60_000, `${label} is ${distance} ms away from now (${date.toISOString()})`);
}

function sorted(values: readonly string[]): string[] {
  return [...values].sort();
}

function basenameOf(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}

export function storageConformance(
  label: string,
  setup: () => Promise<ConformanceSetup>,
  options: ConformanceOptions = {},
): void {
  const largeFileMiB = options.largeFileMiB ?? 50;
  const maxRssGrowthMiB = options.maxRssGrowthMiB ?? 64;

  describe(label, () => {
    let context: ConformanceSetup | undefined;
    const storage = (): Storage => {
      if (!context) throw new Error('storage setup failed');
      return context.storage;
    };

    before(async () => {
      context = await setup();
    });

    after(async () => {
      await context?.cleanup?.();
    });

    test('save() stores the bytes and open() reads them back', async () => {
      const s = storage();
      const folder = randomFolder();
      const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x0d, 0x0a, 0x41]);
      const name = await s.save(`${folder}/bytes.bin`, new ContentFile(bytes));
      assert.equal(name, `${folder}/bytes.bin`);
      assert.deepEqual(await readStored(s, name), bytes);

      const text = await s.save(`${folder}/text.txt`, new ContentFile('español é'));
      assert.deepEqual(await readStored(s, text), Buffer.from('español é', 'utf8'));

      const empty = await s.save(`${folder}/empty.txt`, new ContentFile(''));
      assert.equal((await readStored(s, empty)).byteLength, 0);
      assert.equal(await s.size(empty), 0);
    });

    test('save() accepts raw bytes and a web Blob as content', async () => {
      const s = storage();
      const folder = randomFolder();
      const fromBytes = await s.save(`${folder}/a.bin`, new Uint8Array([1, 2, 3]));
      const fromBlob = await s.save(`${folder}/c.txt`, new Blob(['blob content']));
      assert.deepEqual(await readStored(s, fromBytes), Buffer.from([1, 2, 3]));
      assert.equal((await readStored(s, fromBlob)).toString(), 'blob content');
    });

    test('save() refuses a string as content (text or a path?), pointing to ContentFile and File.open, and stores nothing', async () => {
      const s = storage();
      const folder = randomFolder();
      await assert.rejects(s.save(`${folder}/b.txt`, 'report.pdf' as never), (error: Error) => {
        assert.equal(error.constructor, TypeError);
        assert.match(error.message, /'report\.pdf'.*new ContentFile\(text\).*await File\.open\(path\)/);
        return true;
      });
      assert.equal(await s.exists(`${folder}/b.txt`), false);
    });

    test("save(null, content) uses the content's own name", async () => {
      const s = storage();
      const folder = randomFolder();
      const name = await s.save(null, new ContentFile('named content', `${folder}/test.file`));
      assert.equal(name, `${folder}/test.file`);
      assert.equal((await readStored(s, name)).toString(), 'named content');
    });

    test('nested names create the folders, and exists() is true for the folders', async () => {
      const s = storage();
      const folder = randomFolder();
      const name = await s.save(`${folder}/path/to/test.file`, new ContentFile('content'));
      assert.equal(name, `${folder}/path/to/test.file`);
      assert.equal(await s.exists(name), true);
      assert.equal(await s.exists(`${folder}/path/to`), true);
      assert.equal(await s.exists(`${folder}/path`), true);
      assert.equal(await s.exists(`${folder}/path/to/other.file`), false);
      assert.equal(await s.exists(`${folder}/missing/test.file`), false);
    });

    test('exists() and delete(); deleting a missing file is no error', async () => {
      const s = storage();
      const folder = randomFolder();
      const name = `${folder}/to-delete.txt`;
      assert.equal(await s.exists(name), false);
      assert.equal(await s.save(name, new ContentFile('x')), name);
      assert.equal(await s.exists(name), true);
      await s.delete(name);
      assert.equal(await s.exists(name), false);
      await s.delete(name);
      await s.delete(`${folder}/never-existed.txt`);
      await s.delete(`${randomFolder()}/missing-folder/never-existed.txt`);
    });

    test('listdir() of the root and of a folder gives [dirs, files]', async () => {
      const s = storage();
      const folder = randomFolder();
      await s.save(`${folder}/storage_test_1`, new ContentFile('custom content'));
      await s.save(`${folder}/storage_test_2`, new ContentFile('custom content'));
      await s.save(`${folder}/storage_dir_1/inner.txt`, new ContentFile('inner'));
      const listing = await s.listdir(folder);
      assert.ok(Array.isArray(listing) && listing.length === 2, 'listdir() returns a pair');
      const [dirs, files] = listing;
      assert.deepEqual(sorted(dirs), ['storage_dir_1']);
      assert.deepEqual(sorted(files), ['storage_test_1', 'storage_test_2']);

      const [innerDirs, innerFiles] = await s.listdir(`${folder}/storage_dir_1`);
      assert.deepEqual(innerDirs, []);
      assert.deepEqual(innerFiles, ['inner.txt']);

      const [rootDirs, rootFiles] = await s.listdir('');
      assert.ok(rootDirs.includes(folder), `the root's folders include ${folder}: ${rootDirs.join(', ')}`);
      assert.ok(!rootFiles.includes(folder));
    });

    test('size() is the number of bytes stored', async () => {
      const s = storage();
      const folder = randomFolder();
      const name = await s.save(`${folder}/size.txt`, new ContentFile('custom contents'));
      assert.equal(await s.size(name), 15);
      const unicode = await s.save(`${folder}/unicode.txt`, new ContentFile('è'));
      assert.equal(await s.size(unicode), 2);
      const binary = await s.save(`${folder}/binary.bin`, new ContentFile(new Uint8Array(70_000)));
      assert.equal(await s.size(binary), 70_000);
    });

    test('url() of a name is a string that holds the percent-encoded name', () => {
      const s = storage();
      const url = s.url('url-test/some file.txt');
      assert.equal(typeof url, 'string');
      assert.ok(url.includes('url-test/some%20file.txt'), `url() is ${url}`);
    });

    if (options.hasPath === true) {
      test('path() is the absolute local path holding the bytes', async () => {
        const s = storage();
        const folder = randomFolder();
        const name = await s.save(`${folder}/local.txt`, new ContentFile('on disk'));
        const path = s.path(name);
        assert.ok(isAbsolute(path));
        assert.ok(path.endsWith(`/${folder}/local.txt`));
        assert.equal(readFileSync(path, 'utf8'), 'on disk');
      });
    } else if (options.hasPath === false) {
      test('path() is refused: the backend has no local paths', () => {
        assert.throws(() => storage().path('anything.txt'), { message: "This backend doesn't support absolute paths." });
      });
    }

    test('getModifiedTime, getCreatedTime and getAccessedTime are Dates near now', async () => {
      const s = storage();
      const folder = randomFolder();
      const name = await s.save(`${folder}/times.txt`, new ContentFile('time'));
      assertNearNow(await s.getModifiedTime(name), 'getModifiedTime');
      assertNearNow(await s.getCreatedTime(name), 'getCreatedTime');
      assertNearNow(await s.getAccessedTime(name), 'getAccessedTime');
    });

    test('a taken name gets a random suffix before all of its extensions', async () => {
      const s = storage();
      const folder = randomFolder();
      const first = await s.save(`${folder}/x.tar.gz`, new ContentFile('one'));
      const second = await s.save(`${folder}/x.tar.gz`, new ContentFile('two'));
      assert.equal(first, `${folder}/x.tar.gz`);
      assert.ok(second.startsWith(`${folder}/`), second);
      assert.match(basenameOf(second), /^x_[A-Za-z0-9]{7}\.tar\.gz$/);
      assert.equal((await readStored(s, first)).toString(), 'one');
      assert.equal((await readStored(s, second)).toString(), 'two');

      const plain = await s.save(`${folder}/multiple_files.txt`, new ContentFile('a'));
      const plainAgain = await s.save(`${folder}/multiple_files.txt`, new ContentFile('b'));
      assert.equal(plain, `${folder}/multiple_files.txt`);
      assert.match(plainAgain, new RegExp(`^${folder}/multiple_files_${RANDOM_SEVEN}\\.txt$`));

      // A dotted folder is not mangled; a dot file keeps its name as the root.
      const dotted = await s.save(`${folder}/dotted.path/test`, new ContentFile('1'));
      const dottedAgain = await s.save(`${folder}/dotted.path/test`, new ContentFile('2'));
      assert.equal(dotted, `${folder}/dotted.path/test`);
      assert.match(dottedAgain, new RegExp(`^${folder}/dotted\\.path/test_${RANDOM_SEVEN}$`));
      const dotFile = await s.save(`${folder}/.test`, new ContentFile('1'));
      const dotFileAgain = await s.save(`${folder}/.test`, new ContentFile('2'));
      assert.equal(dotFile, `${folder}/.test`);
      assert.match(dotFileAgain, new RegExp(`^${folder}/\\.test_${RANDOM_SEVEN}$`));
    });

    test('maxLength: a long name is shortened even when free; an impossible one is refused', async () => {
      const s = storage();
      const long = await s.save('tests/averyverylongname.txt', new ContentFile('long'), { maxLength: 20 });
      assert.match(long, /^tests\/av_[A-Za-z0-9]{7}\.txt$/);
      assert.equal(long.length, 20);
      assert.equal((await readStored(s, long)).toString(), 'long');
      await s.delete(long);

      // A five-letter folder, as "tests" in Django's case 28/29, but fresh for this run.
      const folder = randomFolder(5);
      const first = await s.save(`${folder}/filename.ext`, new ContentFile('1'), { maxLength: 20 });
      const second = await s.save(`${folder}/filename.ext`, new ContentFile('2'), { maxLength: 20 });
      assert.equal(first, `${folder}/filename.ext`);
      assert.match(second, new RegExp(`^${folder}/fi_${RANDOM_SEVEN}\\.ext$`));
      assert.equal(second.length, 20);

      assert.equal(await s.save(`${folder}/short.longext`, new ContentFile('1'), { maxLength: 20 }), `${folder}/short.longext`);
      await assert.rejects(
        s.save(`${folder}/short.longext`, new ContentFile('2'), { maxLength: 20 }),
        (error: unknown) => {
          assert.ok(error instanceof SuspiciousFileOperation, String(error));
          assert.match(
            error.message,
            new RegExp(
              `^Storage can not find an available filename for "${folder}/short_${RANDOM_SEVEN}\\.longext"\\. `
                + 'Please make sure that the corresponding file field allows sufficient "max_length"\\.$',
            ),
          );
          return true;
        },
      );
    });

    test("names that leave the storage or name no file are refused with Django's messages, and nothing is written", async () => {
      const s = storage();
      const before = await s.listdir('');
      const traversal = (name: string) => `Detected path traversal attempt in '${name}'`;
      const noName = (name: string) => `Could not derive file name from '${name}'`;
      const cases: Array<[string, string]> = [
        ['../x', traversal('../x')],
        ['a/../../x', traversal('a/../../x')],
        ['path/to/../test.file', traversal('path/to/../test.file')],
        ['/path/to/test.file', traversal('/path/to/test.file')],
        ['/x', traversal('/x')],
        ['..\\x', traversal('..\\x')],
        ['\\tmp\\x', traversal('\\tmp\\x')],
        ['tmp\\..\\..\\x', traversal('tmp\\..\\..\\x')],
        ['dir/', noName('dir/')],
        ['a/.', noName('a/.')],
        ['..', noName('..')],
        ['.', noName('.')],
        ['', noName('')],
      ];
      for (const [name, message] of cases) {
        await assertSuspicious(() => s.save(name, new ContentFile('evil')), message);
      }
      // The content's own name goes through the same checks.
      await assertSuspicious(() => s.save(null, new ContentFile('evil', '../y')), traversal('../y'));
      const after = await s.listdir('');
      assert.deepEqual(sorted(after[0]), sorted(before[0]));
      assert.deepEqual(sorted(after[1]), sorted(before[1]));
      for (const name of ['x', 'y', 'test.file', 'path/test.file', 'dir']) assert.equal(await s.exists(name), false, name);
    });

    test(`a ${largeFileMiB} MiB stream is saved with flat memory and reads back identical`, async () => {
      const s = storage();
      const folder = randomFolder();
      const totalBytes = largeFileMiB * MiB;
      const { stream, digest } = generatedStream(totalBytes);
      const sampler = rssSampler(5);
      let name: string;
      let growth: number;
      try {
        name = await s.save(`${folder}/large.bin`, new File(stream));
      } finally {
        growth = sampler.stop();
      }
      assert.equal(name, `${folder}/large.bin`);
      assert.ok(growth < maxRssGrowthMiB * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB during the save`);
      assert.equal(await s.size(name), totalBytes);

      const readBack = createHash('sha256');
      let readBytes = 0;
      const file = await s.open(name);
      try {
        for await (const chunk of file.chunks()) {
          readBack.update(chunk);
          readBytes += chunk.byteLength;
        }
      } finally {
        await file.close();
      }
      assert.equal(readBytes, totalBytes);
      assert.equal(readBack.digest('hex'), digest());
      await s.delete(name);
    });

    test('a file is not visible under its final name before all its bytes are written', async () => {
      const s = storage();
      const folder = randomFolder();
      const name = `${folder}/pending.bin`;
      const source = new PassThrough();
      const drained = once(source, 'drain');
      assert.equal(source.write(Buffer.alloc(2 * MiB + 1, 0x70)), false, 'more than the stream buffers');
      const saving = s.save(name, new File(source));
      saving.catch(() => undefined); // observed below; avoid an unhandled rejection while waiting
      // The backend has taken every byte written so far (whatever the machine's load), and still waits for the end.
      await drained;
      assert.equal(await s.exists(name), false, 'visible before the source ended');
      if (await s.exists(folder)) {
        const [, files] = await s.listdir(folder);
        assert.ok(!files.includes('pending.bin'), `listdir shows it early: ${files.join(', ')}`);
      }
      source.end(Buffer.alloc(MiB, 0x71));
      assert.equal(await saving, name);
      assert.equal(await s.size(name), 3 * MiB + 1);
      const [, files] = await s.listdir(folder);
      assert.deepEqual(files, ['pending.bin'], 'no temporary name is listed');
    });

    test('a source that fails mid-way: the error propagates and nothing is kept under the name', async () => {
      const s = storage();
      const folder = randomFolder();
      const name = `${folder}/failed.bin`;
      let pushed = 0;
      const failing = new Readable({
        read() {
          if (pushed++ < 24) this.push(Buffer.alloc(128 * 1024, 0x66));
          else this.destroy(new Error('the source failed mid-way'));
        },
      });
      await assert.rejects(s.save(name, new File(failing)), { message: 'the source failed mid-way' });
      assert.equal(await s.exists(name), false);
      if (await s.exists(folder)) {
        const [, files] = await s.listdir(folder);
        assert.deepEqual(files, [], `left behind: ${files.join(', ')}`);
      }
    });

    test('10 concurrent saves of one name give 10 names, each with its own bytes', async () => {
      const s = storage();
      const folder = randomFolder();
      const contents = Array.from({ length: 10 }, (_, index) => `content of save ${index} `.repeat(index + 1));
      const names = await Promise.all(contents.map((content) => s.save(`${folder}/conflict.txt`, new ContentFile(content))));
      assert.equal(new Set(names).size, 10, `names: ${names.join(', ')}`);
      assert.ok(names.includes(`${folder}/conflict.txt`));
      for (const name of names) assert.match(name, new RegExp(`^${folder}/conflict(_${RANDOM_SEVEN})?\\.txt$`));
      for (const [index, name] of names.entries()) {
        assert.equal((await readStored(s, name)).toString(), contents[index], name);
      }
      const [, files] = await s.listdir(folder);
      assert.deepEqual(sorted(files), sorted(names.map(basenameOf)));
    });

    test('copy() and move() store under a free name as save() chooses one, with the same bytes', async () => {
      const s = storage();
      const folder = randomFolder();
      const original = await s.save(`${folder}/original.txt`, new ContentFile('copied bytes'));
      assert.equal(await s.copy(original, `${folder}/copy.txt`), `${folder}/copy.txt`);
      const again = await s.copy(original, `${folder}/copy.txt`);
      assert.match(again, new RegExp(`^${folder}/copy_${RANDOM_SEVEN}\\.txt$`));
      assert.equal((await readStored(s, again)).toString(), 'copied bytes');
      const moved = await s.move(original, `${folder}/sub/moved.txt`);
      assert.equal(moved, `${folder}/sub/moved.txt`);
      assert.equal(await s.exists(original), false);
      assert.equal((await readStored(s, moved)).toString(), 'copied bytes');
      await assertSuspicious(() => s.copy(moved, '../outside.txt'), "Detected path traversal attempt in '../outside.txt'");
    });

    test('copyTo() copies a file into another storage', async () => {
      const s = storage();
      const folder = randomFolder();
      const name = await s.save(`${folder}/across.bin`, new ContentFile(new Uint8Array([1, 2, 3, 250])));
      const other = new InMemoryStorage({ baseUrl: '/other/' });
      assert.equal(await s.copyTo(other, name), name);
      assert.deepEqual(await readStored(other, name), Buffer.from([1, 2, 3, 250]));
      assert.equal(await other.copyTo(s, name, `${folder}/back.bin`), `${folder}/back.bin`);
      assert.deepEqual(await readStored(s, `${folder}/back.bin`), Buffer.from([1, 2, 3, 250]));
    });

    test('listAll() streams every file under a folder page by page; deleteAll() removes them', async () => {
      const s = storage();
      const folder = randomFolder();
      const expected: string[] = [];
      await Promise.all(Array.from({ length: 25 }, async (_, index) => {
        const name = `${folder}/${index % 3 === 0 ? 'nested/deeper/' : index % 3 === 1 ? 'nested/' : ''}file-${index}.txt`;
        expected.push(await s.save(name, new ContentFile('x'.repeat(index))));
      }));
      const listed: Array<{ name: string; size: number; modifiedTime: Date }> = [];
      for await (const entry of s.listAll(folder, { pageSize: 4 })) listed.push(entry);
      assert.deepEqual(sorted(listed.map((entry) => entry.name)), sorted(expected));
      for (const entry of listed) {
        assert.equal(entry.size, Number(/file-(\d+)/.exec(entry.name)![1]), entry.name);
        assertNearNow(entry.modifiedTime, entry.name);
      }
      const shallow: string[] = [];
      for await (const entry of s.listAll(`${folder}/nested`, { recursive: false, pageSize: 4 })) shallow.push(entry.name);
      assert.deepEqual(sorted(shallow), sorted(expected.filter((name) => /^[^/]+\/nested\/file-/.test(name))));
      assert.equal(await s.deleteAll(`${folder}/nested`), 17);
      const left: string[] = [];
      for await (const entry of s.listAll(folder)) left.push(entry.name);
      assert.deepEqual(sorted(left), sorted(expected.filter((name) => !name.includes('/nested/'))));
      assert.equal(await s.deleteAll(folder), 8);
    });

    test('object headers given to save() are kept with the file (or refused clearly), never listed as a file', async () => {
      const s = storage();
      const folder = randomFolder();
      const headers = { contentType: 'text/csv', cacheControl: 'max-age=60', contentDisposition: 'attachment; filename="r.csv"', metadata: { owner: 'ada' } };
      let name: string;
      try {
        name = await s.save(`${folder}/report.csv`, new ContentFile('a,b\n'), headers);
      } catch (error) {
        assert.ok(error instanceof RangeError && /keeps no object headers/.test(error.message), String(error));
        assert.equal(await s.exists(`${folder}/report.csv`), false);
        return;
      }
      assert.deepEqual(await s.headers(name), headers);
      assert.deepEqual((await s.listdir(folder))[1], ['report.csv']);
      const copied = await s.copy(name, `${folder}/copied.csv`);
      assert.deepEqual(await s.headers(copied), headers);
      await s.delete(name);
      await s.delete(copied);
      assert.deepEqual(await s.listdir(folder), [[], []]);
    });

    test('signedUrl() returns a URL string (where the backend signs URLs)', async (t) => {
      const s = storage();
      const folder = randomFolder();
      const name = await s.save(`${folder}/signed.txt`, new ContentFile('signed'));
      let url: string;
      try {
        url = await s.signedUrl(name, { expiresIn: 60 });
      } catch (error) {
        if ((error as Error).message === NOT_IMPLEMENTED_SIGNED_URL) {
          t.skip('the backend does not sign URLs');
          return;
        }
        throw error;
      }
      assert.equal(typeof url, 'string');
      assert.ok(url.includes('signed.txt'), url);
      assert.notEqual(url, s.url(name));
    });
  });
}
