// FileSystemStorage specifics (reference §4, §9 items 27–50), with real files in temporary folders,
// plus the name rules that every MediaRootStorage shares (generateFilename, getAvailableName) on
// InMemoryStorage too.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { once } from 'node:events';
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import {
  configure, ContentFile, File, FileSystemStorage, FileTooLarge, InMemoryStorage, settings, Storage,
  SuspiciousFileOperation, verifySignedUrl, type SettingsInput,
} from '../src/index.ts';
import { assertSuspicious, readStored } from './support/conformance.ts';

const RND7 = '[A-Za-z0-9]{7}';
const TEMPORARY_PREFIX = '.filefield-tmp-';
const isRoot = process.getuid?.() === 0;

let scratch: string;
let baseSettings: SettingsInput;

/** A fresh, empty folder (its real path, so it compares equal to what the storage resolves). */
function freshDir(label = 'loc'): string {
  return fs.realpathSync(fs.mkdtempSync(join(scratch, `${label}-`)));
}

/** S of the reference: FileSystemStorage(location=TMP, base_url="/test_media_url/"). */
function makeStorage(options: { allowOverwrite?: boolean } = {}): { storage: FileSystemStorage; location: string } {
  const location = freshDir();
  return { storage: new FileSystemStorage({ location, baseUrl: '/test_media_url/', ...options }), location };
}

function modeOf(path: string): number {
  return fs.statSync(path).mode & 0o7777;
}

/** Every entry under `folder`, recursively, as paths relative to it (temporary files included). */
function rawTree(folder: string): string[] {
  return (fs.readdirSync(folder, { recursive: true }) as string[]).sort();
}

async function withSettings<T>(extra: SettingsInput, run: () => Promise<T>): Promise<T> {
  await configure({ ...baseSettings, ...extra });
  try {
    return await run();
  } finally {
    await configure(baseSettings);
  }
}

before(async () => {
  scratch = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), 'filefield-fss-')));
  const media = join(scratch, 'media');
  baseSettings = { BASE_DIR: scratch, MEDIA_ROOT: media, SECRET_KEY: 'storage-filesystem-test-secret' };
  await configure(baseSettings);
});

after(async () => {
  await configure({});
  fs.rmSync(scratch, { recursive: true, force: true });
});

describe('url() (items 40–42)', () => {
  test('names are percent-encoded as Django quotes them', () => {
    const { storage } = makeStorage();
    assert.equal(storage.url('test.file'), '/test_media_url/test.file');
    assert.equal(
      storage.url("~!*()'@#$%^&*abc`+ =.file"),
      "/test_media_url/~!*()'%40%23%24%25%5E%26*abc%60%2B%20%3D.file",
    );
    assert.equal(storage.url('ab\0c'), '/test_media_url/ab%00c');
    assert.equal(storage.url('upload\\чубака.mp4'), '/test_media_url/upload/%D1%87%D1%83%D0%B1%D0%B0%D0%BA%D0%B0.mp4');
  });

  test('backslashes become slashes; leading slashes never make an absolute or protocol-relative URL', () => {
    const { storage } = makeStorage();
    assert.equal(storage.url('a/b\\c.file'), '/test_media_url/a/b/c.file');
    for (const name of ['/evil.com', '\\evil.com', '///evil.com', '\\\\\\evil.com']) {
      assert.equal(storage.url(name), '/test_media_url/evil.com', name);
    }
    assert.equal(storage.url(null), '/test_media_url/');
  });

  test('no base URL: url() is refused', async () => {
    await withSettings({ MEDIA_URL: null }, async () => {
      const location = freshDir();
      assert.throws(() => new FileSystemStorage({ location }).url('test.file'), { message: 'This file is not accessible via a URL.' });
      assert.throws(() => new InMemoryStorage().url('test.file'), { message: 'This file is not accessible via a URL.' });
    });
  });

  test('an explicit base URL gets its missing slash; an absolute base URL is joined too', () => {
    const location = freshDir();
    const noSlash = new FileSystemStorage({ location, baseUrl: '/no_ending_slash' });
    assert.equal(noSlash.baseUrl, '/no_ending_slash/');
    assert.equal(noSlash.url('test.file'), '/no_ending_slash/test.file');
    const absolute = new InMemoryStorage({ baseUrl: 'http://www.example.com' });
    assert.equal(absolute.url('file.txt'), 'http://www.example.com/file.txt');
    assert.equal(absolute.url(null), 'http://www.example.com/');
  });

  test('location "" is the working directory; the defaults come from MEDIA_ROOT and MEDIA_URL', () => {
    const storage = new FileSystemStorage({ location: '' });
    assert.equal(storage.baseLocation, '');
    assert.equal(storage.location, process.cwd());
    const defaults = new FileSystemStorage();
    assert.equal(defaults.location, settings.MEDIA_ROOT);
    assert.equal(defaults.baseUrl, '/media/');
  });
});

describe('path() and names outside the location (item 43)', () => {
  test('path() joins inside the location and refuses to leave it', () => {
    const { storage, location } = makeStorage();
    assert.equal(storage.path('a/b.txt'), join(location, 'a/b.txt'));
    assert.equal(storage.path(''), location);
    assert.equal(storage.path(join(location, 'inside.txt')), join(location, 'inside.txt'), 'an absolute path inside is accepted');
    const outside = resolve(location, 'a/../../x');
    assert.throws(() => storage.path('a/../../x'), (error: unknown) => {
      assert.ok(error instanceof SuspiciousFileOperation);
      assert.equal(error.message, `The joined path (${outside}) is located outside of the base path component (${location})`);
      return true;
    });
    assert.throws(() => storage.path('/etc/passwd'), {
      message: `The joined path (/etc/passwd) is located outside of the base path component (${location})`,
    });
    // A sibling folder whose name starts like the location is outside too.
    assert.throws(() => storage.path(`${location}-sibling/x`), SuspiciousFileOperation);
  });

  test('exists(), size(), open(), delete() and listdir() refuse names outside', async () => {
    const { storage } = makeStorage();
    for (const name of ['..', '/etc/passwd', '../x', 'a/../../x']) {
      await assert.rejects(storage.exists(name), SuspiciousFileOperation, `exists(${name})`);
      await assert.rejects(storage.size(name), SuspiciousFileOperation, `size(${name})`);
      await assert.rejects(storage.open(name), SuspiciousFileOperation, `open(${name})`);
      await assert.rejects(storage.delete(name), SuspiciousFileOperation, `delete(${name})`);
      await assert.rejects(storage.listdir(name), SuspiciousFileOperation, `listdir(${name})`);
    }
    assert.equal(await storage.exists(''), false); // the root is no file (issue 9, item 9)
  });

  test('a symlink leading outside is refused by path(), exists(), open(), save(), listdir() and delete()', async () => {
    const { storage, location } = makeStorage();
    const outside = freshDir('outside');
    fs.writeFileSync(join(outside, 'secret.txt'), 'secret');
    fs.symlinkSync(outside, join(location, 'out'));
    fs.symlinkSync(join(outside, 'secret.txt'), join(location, 'secret-link.txt'));
    const escape = (name: string) =>
      `The path (${join(location, name)}) leads outside of the storage location (${location}) through a symbolic link`;

    assert.throws(() => storage.path('out/x.txt'), { name: 'SuspiciousFileOperation', message: escape('out/x.txt') });
    assert.throws(() => storage.path('out/deeper/missing/x.txt'), SuspiciousFileOperation);
    assert.throws(() => storage.path('secret-link.txt'), { message: escape('secret-link.txt') });
    await assertSuspicious(() => storage.exists('out/secret.txt'), escape('out/secret.txt'));
    await assertSuspicious(() => storage.open('secret-link.txt'), escape('secret-link.txt'));
    await assertSuspicious(() => storage.open('out/secret.txt'), escape('out/secret.txt'));
    await assertSuspicious(() => storage.save('out/x.txt', new ContentFile('evil')), escape('out/x.txt'));
    await assertSuspicious(() => storage.save('out/sub/x.txt', new ContentFile('evil')), escape('out/sub/x.txt'));
    await assertSuspicious(() => storage.listdir('out'), escape('out'));
    await assertSuspicious(() => storage.delete('out/secret.txt'), escape('out/secret.txt'));
    await assertSuspicious(() => storage.size('secret-link.txt'), escape('secret-link.txt'));
    assert.deepEqual(fs.readdirSync(outside), ['secret.txt'], 'nothing was written outside');
    assert.equal(fs.readFileSync(join(outside, 'secret.txt'), 'utf8'), 'secret');
  });

  test('a location that is a symlink, pointed at another folder while the storage is in use, is followed; escapes stay refused', async () => {
    const first = freshDir('first');
    const second = freshDir('second');
    const outside = freshDir('outside');
    const location = join(scratch, `current-${process.hrtime.bigint()}`);
    fs.symlinkSync(first, location);
    const storage = new FileSystemStorage({ location });
    assert.equal(await storage.save('a.txt', new ContentFile('one')), 'a.txt');
    // A release switch, as deploy tools do it: the link now names another folder.
    fs.unlinkSync(location);
    fs.symlinkSync(second, location);
    assert.equal(await storage.save('b.txt', new ContentFile('two')), 'b.txt');
    assert.equal(fs.readFileSync(join(second, 'b.txt'), 'utf8'), 'two');
    assert.equal((await (await storage.open('b.txt')).read()).toString(), 'two');
    fs.symlinkSync(outside, join(second, 'out'));
    await assertSuspicious(() => storage.save('out/x.txt', new ContentFile('evil')),
      `The path (${join(location, 'out/x.txt')}) leads outside of the storage location (${location}) through a symbolic link`);
    assert.deepEqual(fs.readdirSync(outside), [], 'nothing was written outside');
  });

  test('a symlink that stays inside the location is followed', async () => {
    const { storage, location } = makeStorage();
    fs.mkdirSync(join(location, 'real'));
    fs.symlinkSync(join(location, 'real'), join(location, 'alias'));
    const name = await storage.save('alias/x.txt', new ContentFile('via link'));
    assert.equal(name, 'alias/x.txt');
    assert.equal(fs.readFileSync(join(location, 'real', 'x.txt'), 'utf8'), 'via link');
    const [dirs] = await storage.listdir('');
    assert.deepEqual(dirs.sort(), ['alias', 'real'], 'a symlink to a folder counts as a folder');
  });

  test('a broken symlink at the target name counts as existing: the save goes to another name (item 36)', async () => {
    const { storage, location } = makeStorage();
    fs.symlinkSync(join(location, 'nowhere'), join(location, 'broken.txt'));
    assert.equal(await storage.exists('broken.txt'), true);
    const name = await storage.save('broken.txt', new ContentFile('data'));
    assert.match(name, new RegExp(`^broken_${RND7}\\.txt$`));
    assert.equal(await storage.exists(name), true);
    assert.equal(fs.readFileSync(join(location, name), 'utf8'), 'data');
    assert.equal(fs.existsSync(join(location, 'nowhere')), false, 'the link target was not created');
    assert.ok(fs.lstatSync(join(location, 'broken.txt')).isSymbolicLink());
  });

  test('a broken symlink pointing outside never gets a file written through it', async () => {
    const { storage, location } = makeStorage();
    const outside = freshDir('outside');
    fs.symlinkSync(join(outside, 'planted.txt'), join(location, 'planted.txt'));
    const name = await storage.save('planted.txt', new ContentFile('data'));
    assert.notEqual(name, 'planted.txt');
    assert.deepEqual(fs.readdirSync(outside), []);

    const overwriting = new FileSystemStorage({ location, allowOverwrite: true });
    assert.equal(await overwriting.save('planted.txt', new ContentFile('replaced')), 'planted.txt');
    assert.deepEqual(fs.readdirSync(outside), [], 'the link itself was replaced, not followed');
    assert.ok(fs.lstatSync(join(location, 'planted.txt')).isFile());
    assert.equal(fs.readFileSync(join(location, 'planted.txt'), 'utf8'), 'replaced');
  });

  test('a folder swapped for a symlink to the outside while saving, opening or deleting: nothing outside is written, read or removed', async () => {
    const { storage, location } = makeStorage();
    const overwriting = new FileSystemStorage({ location, allowOverwrite: true });
    const outside = freshDir('outside');
    fs.writeFileSync(join(outside, 'secret.txt'), 'secret');
    fs.writeFileSync(join(outside, 'victim.txt'), 'victim');
    // Another thread keeps replacing `sub`: a real folder moved away, a symlink to `outside`, nothing.
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const swapper = new Worker(`
      const fs = require('node:fs');
      const { workerData: [link, target, stop] } = require('node:worker_threads');
      for (let n = 0; Atomics.load(stop, 0) === 0; n++) {
        try { fs.renameSync(link, link + '-moved-' + n); } catch {}
        try { fs.symlinkSync(target, link); } catch {}
        try { fs.unlinkSync(link); } catch {}
      }`, { eval: true, workerData: [join(location, 'sub'), outside, stop] });
    const readOutside: string[] = [];
    try {
      const started = Date.now();
      for (let index = 0; Date.now() - started < 1500; index++) {
        await (index % 2 ? overwriting : storage).save(`sub/f${index}.txt`, new ContentFile('x')).catch(() => undefined);
        await storage.delete('sub/victim.txt').catch(() => undefined);
        const file = await storage.open('sub/secret.txt').catch(() => null);
        if (file) {
          readOutside.push(await file.text().catch(() => ''));
          await file.close();
        }
      }
    } finally {
      Atomics.store(stop, 0, 1);
      await once(swapper, 'exit');
    }
    assert.deepEqual(fs.readdirSync(outside).sort(), ['secret.txt', 'victim.txt'], 'nothing was written outside, nothing removed');
    assert.deepEqual(readOutside.filter((text) => text === 'secret'), [], 'nothing outside was read');
  });
});

describe('saving (items 27–39)', () => {
  test('path(saved) is location/saved; size(); open() names the File by its absolute path (item 46)', async () => {
    const { storage, location } = makeStorage();
    const name = await storage.save('test.file', new ContentFile('custom contents'));
    assert.equal(storage.path(name), join(location, 'test.file'));
    assert.equal(await storage.size(name), 15);
    assert.equal(storage.url(name), '/test_media_url/test.file');
    const file = await storage.open(name);
    assert.equal(file.name, join(location, 'test.file'));
    assert.equal(file.size, 15);
    assert.equal(await file.text(), 'custom contents');
    await file.close();
    await assert.rejects(storage.open('missing.txt'), { code: 'ENOENT' });
    await assert.rejects(storage.size('missing.txt'), { code: 'ENOENT' });
  });

  test('every kind of source is saved whole, from its first byte, and is not closed by the save', async () => {
    const { storage, location } = makeStorage();
    const sourcePath = join(freshDir('src'), 'source.txt');
    fs.writeFileSync(sourcePath, 'source bytes 0123456789');

    const fromFd = new File(fs.openSync(sourcePath, 'r'));
    await fromFd.read(7); // a partial read does not matter: the storage copies the whole file
    assert.equal(await storage.save('fd.txt', fromFd), 'fd.txt');
    assert.equal(fromFd.closed, false, 'save() does not close the content');
    await fromFd.close();

    const fromHandle = new File(await fs.promises.open(sourcePath, 'r'));
    assert.equal(await storage.save('handle.txt', fromHandle), 'handle.txt');
    await fromHandle.close();

    assert.equal(await storage.save('stream.txt', new File(fs.createReadStream(sourcePath))), 'stream.txt');
    assert.equal(await storage.save('readable.txt', Readable.from([Buffer.from('source '), Buffer.from('bytes 0123456789')])), 'readable.txt');
    assert.equal(await storage.save('blob.txt', new Blob(['source bytes 0123456789'])), 'blob.txt');
    assert.equal(await storage.save(null, new File(fs.openSync(sourcePath, 'r'), 'own-name.txt')), 'own-name.txt');

    for (const name of ['fd.txt', 'handle.txt', 'stream.txt', 'readable.txt', 'blob.txt', 'own-name.txt']) {
      assert.equal(fs.readFileSync(join(location, name), 'utf8'), 'source bytes 0123456789', name);
    }
    // A File of an absolute path without an explicit name is refused: the stored name would be absolute.
    await assertSuspicious(
      () => storage.save(null, new File(fs.openSync(sourcePath, 'r'))),
      `Detected path traversal attempt in '${sourcePath}'`,
    );
  });

  test('a file whose size the kernel misstates (/proc, /sys) is stored with all its bytes', { skip: !fs.existsSync('/proc/version') }, async () => {
    const { storage, location } = makeStorage();
    const source = await File.open('/proc/version');
    const name = await storage.save('version.txt', source, {});
    await source.close();
    assert.equal(fs.readFileSync(join(location, name), 'utf8'), fs.readFileSync('/proc/version', 'utf8'));
  });

  test('a source that shrinks during the save (or a /sys file larger on paper) does not hang the process', { skip: !fs.existsSync('/sys/class/net/lo/address') }, () => {
    // In a child process: a save stuck in a copy loop keeps a thread spinning that not even exit() ends.
    const location = freshDir();
    const script = `
      import { File, FileSystemStorage } from ${JSON.stringify(new URL('../src/index.ts', import.meta.url).href)};
      const storage = new FileSystemStorage({ location: ${JSON.stringify(location)} });
      const source = await File.open('/sys/class/net/lo/address');
      console.log(await storage.save('address.txt', source));
      await source.close();`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL',
    });
    assert.equal(child.signal, null, 'the save hung and the child was killed');
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), 'address.txt');
    assert.equal(fs.readFileSync(join(location, 'address.txt'), 'utf8'), fs.readFileSync('/sys/class/net/lo/address', 'utf8'));
  });

  test('ContentFile("español") is stored as UTF-8', async () => {
    const { storage, location } = makeStorage();
    await storage.save('unicode.txt', new ContentFile('español'));
    assert.deepEqual(fs.readFileSync(join(location, 'unicode.txt')), Buffer.from('español', 'utf8'));
  });

  test('a path component that is a file: "<abs dir> exists and is not a directory." (item 38)', async () => {
    const { storage, location } = makeStorage();
    fs.writeFileSync(join(location, 'blocker'), 'a file');
    await assert.rejects(storage.save('blocker/x.txt', new ContentFile('x')), {
      message: `${join(location, 'blocker')} exists and is not a directory.`,
    });
    await assert.rejects(storage.save('blocker/sub/x.txt', new ContentFile('x')), {
      message: `${join(location, 'blocker', 'sub')} exists and is not a directory.`,
    });
    await withSettings({ FILE_UPLOAD_DIRECTORY_PERMISSIONS: 0o755 }, async () => {
      const withMode = new FileSystemStorage({ location });
      await assert.rejects(withMode.save('blocker/sub/x.txt', new ContentFile('x')), {
        message: `${join(location, 'blocker', 'sub')} exists and is not a directory.`,
      });
    });
    assert.deepEqual(rawTree(location), ['blocker']);
  });

  test('a custom getAvailableName is used (item 33)', async () => {
    class CustomStorage extends FileSystemStorage {
      override async getAvailableName(name: string): Promise<string> {
        let candidate = name;
        for (let number = 2; await this.exists(candidate); number++) candidate = `${name}.${number}`;
        return candidate;
      }
    }
    const storage = new CustomStorage({ location: freshDir() });
    assert.equal(await storage.save('custom_storage', new ContentFile('custom contents')), 'custom_storage');
    assert.equal(await storage.save('custom_storage', new ContentFile('more contents')), 'custom_storage.2');
    assert.equal(await storage.save('custom_storage', new ContentFile('more contents')), 'custom_storage.3');
  });

  test('a bad name from getAvailableName or _save is refused by save() itself (item 31)', async () => {
    const location = freshDir();
    let saveCalls = 0;
    class BadAvailable extends FileSystemStorage {
      override async getAvailableName(): Promise<string> {
        return 'path/to/../test.file';
      }
      protected override async _save(name: string, content: File): Promise<string> {
        saveCalls++;
        return super._save(name, content);
      }
    }
    await assertSuspicious(
      () => new BadAvailable({ location }).save('fine.txt', new ContentFile('x')),
      "Detected path traversal attempt in 'path/to/../test.file'",
    );
    assert.equal(saveCalls, 0, '_save was never called with the bad name');

    class AbsoluteAvailable extends FileSystemStorage {
      override async getAvailableName(): Promise<string> {
        return '/path/to/test.file';
      }
    }
    await assertSuspicious(
      () => new AbsoluteAvailable({ location }).save('fine.txt', new ContentFile('x')),
      "Detected path traversal attempt in '/path/to/test.file'",
    );

    class BadSave extends FileSystemStorage {
      protected override async _save(name: string, content: File): Promise<string> {
        await super._save(name, content);
        return '../escaped.txt';
      }
    }
    await assertSuspicious(
      () => new BadSave({ location }).save('fine.txt', new ContentFile('x')),
      "Detected path traversal attempt in '../escaped.txt'",
    );
  });

  test('save(null, content) without any name is refused', async () => {
    const { storage, location } = makeStorage();
    await assert.rejects(storage.save(null, new ContentFile('nameless')), SuspiciousFileOperation);
    assert.deepEqual(rawTree(location), []);
  });

  test('a failing source propagates its error, leaves no file under the final name and no temporary file', async () => {
    const { storage, location } = makeStorage();
    let pushed = 0;
    const failing = new Readable({
      read() {
        if (pushed++ < 20) this.push(Buffer.alloc(100_000, 0x61));
        else this.destroy(new Error('the source failed'));
      },
    });
    await assert.rejects(storage.save('folder/failed.bin', new File(failing)), { message: 'the source failed' });
    assert.equal(await storage.exists('folder/failed.bin'), false);
    assert.deepEqual(rawTree(join(location, 'folder')), [], 'no temporary file is left');
  });

  test('a file is not visible under its final name, nor in listdir(), before all its bytes are written', async () => {
    const { storage, location } = makeStorage();
    const source = new PassThrough();
    source.write(Buffer.alloc(1000, 0x62));
    const saving = storage.save('slow.bin', new File(source));
    // Wait until the save has created its temporary file.
    // However long the machine takes: a save that never gets there fails by the test's timeout.
    while (!fs.readdirSync(location).some((entry) => entry.startsWith(TEMPORARY_PREFIX))) {
      await new Promise((done) => setTimeout(done, 2));
    }
    assert.equal(await storage.exists('slow.bin'), false);
    assert.deepEqual(await storage.listdir(''), [[], []], 'listdir() hides the temporary file');
    source.end(Buffer.alloc(1000, 0x63));
    assert.equal(await saving, 'slow.bin');
    assert.equal(await storage.size('slow.bin'), 2000);
    assert.deepEqual(rawTree(location), ['slow.bin'], 'the temporary file is gone');
  });

  test('listdir() hides temporary files left by a crashed save; a missing folder is an error', async () => {
    const { storage, location } = makeStorage();
    fs.writeFileSync(join(location, `${TEMPORARY_PREFIX}leftover`), 'partial');
    fs.writeFileSync(join(location, 'visible.txt'), 'visible');
    fs.mkdirSync(join(location, 'folder'));
    assert.deepEqual(await storage.listdir(''), [['folder'], ['visible.txt']]);
    await assert.rejects(storage.listdir('missing'), { code: 'ENOENT' });
  });

  test('getModifiedTime/getCreatedTime/getAccessedTime are near now, for files and folders (item 49)', async () => {
    const { storage } = makeStorage();
    // The kernel's file clock may lag the process's by a tick: a second of slack, whatever the machine's load.
    const before = Date.now() - 1_000;
    await storage.save('dir/times.txt', new ContentFile('t'));
    for (const name of ['dir/times.txt', 'dir']) {
      for (const date of [await storage.getModifiedTime(name), await storage.getCreatedTime(name), await storage.getAccessedTime(name)]) {
        const after = Date.now() + 1_000;
        assert.ok(date.getTime() >= before && date.getTime() <= after, `${name}: ${date.toISOString()}`);
      }
    }
    await assert.rejects(storage.getModifiedTime('missing.txt'), { code: 'ENOENT' });
  });
});

describe('allowOverwrite (items 34–35)', () => {
  test('a save replaces the file under the same name; shorter content leaves no trailing bytes', async () => {
    const { storage, location } = makeStorage({ allowOverwrite: true });
    assert.equal(await storage.save('test.file', new ContentFile('content one')), 'test.file');
    assert.equal(await storage.save('test.file', new ContentFile('second content')), 'test.file');
    assert.equal(fs.readFileSync(join(location, 'test.file'), 'utf8'), 'second content');
    assert.equal(await storage.save('test.file', new ContentFile('short')), 'test.file');
    assert.equal(fs.readFileSync(join(location, 'test.file'), 'utf8'), 'short');

    // The same from a file on disk.
    const sourcePath = join(freshDir('src'), 'tiny.txt');
    fs.writeFileSync(sourcePath, 'ab');
    const source = new File(fs.openSync(sourcePath, 'r'));
    assert.equal(await storage.save('test.file', source), 'test.file');
    await source.close();
    assert.equal(fs.readFileSync(join(location, 'test.file'), 'utf8'), 'ab');
    assert.deepEqual(rawTree(location), ['test.file']);
  });

  test('the replacement is atomic: a reader of the old file keeps the old bytes', async () => {
    const { storage, location } = makeStorage({ allowOverwrite: true });
    await storage.save('atomic.txt', new ContentFile('the old content'));
    const reader = await storage.open('atomic.txt');
    await storage.save('atomic.txt', new ContentFile('new'));
    assert.equal(await reader.text(), 'the old content');
    await reader.close();
    assert.equal(fs.readFileSync(join(location, 'atomic.txt'), 'utf8'), 'new');
  });

  test('maxLength only truncates: "test_long_file_name.txt" max 10 → "test_l.txt"', async () => {
    const { storage } = makeStorage({ allowOverwrite: true });
    assert.equal(await storage.save('test_long_file_name.txt', new ContentFile('x'), { maxLength: 10 }), 'test_l.txt');
    assert.equal(await storage.getAvailableName('test_long_file_name.txt', { maxLength: 10 }), 'test_l.txt');
    await assert.rejects(storage.save('file_name.longext', new ContentFile('x'), { maxLength: 5 }), {
      name: 'SuspiciousFileOperation',
      message: 'Storage can not find an available filename for "file_name.longext". '
        + 'Please make sure that the corresponding file field allows sufficient "max_length".',
    });
  });
});

describe('permissions (item 48)', () => {
  async function withUmask<T>(mask: number, run: () => Promise<T>): Promise<T> {
    const previous = process.umask(mask);
    try {
      return await run();
    } finally {
      process.umask(previous);
    }
  }

  test('FILE_UPLOAD_PERMISSIONS 0o654 and FILE_UPLOAD_DIRECTORY_PERMISSIONS 0o765 apply whatever the umask', async () => {
    const location = freshDir();
    const sourcePath = join(freshDir('src'), 'source.txt');
    fs.writeFileSync(sourcePath, 'from disk');
    fs.chmodSync(sourcePath, 0o600);
    await withUmask(0o027, () =>
      withSettings({ MEDIA_ROOT: location, FILE_UPLOAD_PERMISSIONS: 0o654, FILE_UPLOAD_DIRECTORY_PERMISSIONS: 0o765 }, async () => {
        const storage = new FileSystemStorage();
        const name = await storage.save('the_directory/subdir/file.txt', new ContentFile('data'));
        assert.equal(modeOf(join(location, name)), 0o654);
        assert.equal(modeOf(join(location, 'the_directory')), 0o765);
        assert.equal(modeOf(join(location, 'the_directory/subdir')), 0o765);
        const source = new File(fs.openSync(sourcePath, 'r'));
        const copied = await storage.save('the_directory/subdir/copied.txt', source);
        await source.close();
        assert.equal(modeOf(join(location, copied)), 0o654, 'a file saved from disk gets the mode too');
        // A folder that already exists is left as it is.
        fs.mkdirSync(join(location, 'existing'), { mode: 0o700 });
        await storage.save('existing/new/x.txt', new ContentFile('x'));
        assert.equal(modeOf(join(location, 'existing')), 0o700);
        assert.equal(modeOf(join(location, 'existing/new')), 0o765);
      }));
  });

  test('null permissions: the umask decides (0o640 files, 0o750 folders under umask 0o027)', async () => {
    const location = freshDir();
    await withUmask(0o027, () =>
      withSettings({ MEDIA_ROOT: location, FILE_UPLOAD_PERMISSIONS: null, FILE_UPLOAD_DIRECTORY_PERMISSIONS: null }, async () => {
        const storage = new FileSystemStorage();
        const name = await storage.save('the_directory/subdir/file.txt', new ContentFile('data'));
        assert.equal(modeOf(join(location, name)), 0o640);
        assert.equal(modeOf(join(location, 'the_directory')), 0o750);
        assert.equal(modeOf(join(location, 'the_directory/subdir')), 0o750);
      }));
  });

  test('the default FILE_UPLOAD_PERMISSIONS is 0o644; explicit modes win over settings (item 47)', async () => {
    const location = freshDir();
    await withUmask(0o077, async () => {
      const name = await new FileSystemStorage({ location }).save('default.txt', new ContentFile('x'));
      assert.equal(modeOf(join(location, name)), 0o644);
      await withSettings({ FILE_UPLOAD_PERMISSIONS: 0o666, FILE_UPLOAD_DIRECTORY_PERMISSIONS: 0o777 }, async () => {
        const explicit = new FileSystemStorage({ location, filePermissionsMode: 0o600, directoryPermissionsMode: 0o710 });
        const saved = await explicit.save('explicit/x.txt', new ContentFile('x'));
        assert.equal(modeOf(join(location, saved)), 0o600);
        assert.equal(modeOf(join(location, 'explicit')), 0o710);
      });
    });
  });

  test('concurrent saves creating the same new folders race safely, with and without a directory mode (item 39)', async () => {
    for (const directoryPermissionsMode of [null, 0o750]) {
      const location = freshDir();
      const storage = new FileSystemStorage({ location, directoryPermissionsMode });
      const names = await Promise.all(
        Array.from({ length: 12 }, (_, index) => storage.save(`a/b/c/d/file-${index % 3}.txt`, new ContentFile(`${index}`))),
      );
      assert.equal(new Set(names).size, 12);
      assert.equal((await storage.listdir('a/b/c/d'))[1].length, 12);
      if (directoryPermissionsMode !== null) {
        for (const folder of ['a', 'a/b', 'a/b/c', 'a/b/c/d']) assert.equal(modeOf(join(location, folder)), 0o750, folder);
      }
    }
  });

  test('an unwritable folder: the permission error propagates', { skip: isRoot ? 'running as root' : false }, async () => {
    const location = freshDir();
    fs.mkdirSync(join(location, 'locked'), { mode: 0o500 });
    const storage = new FileSystemStorage({ location });
    await assert.rejects(storage.save('locked/sub/x.txt', new ContentFile('x')), { code: 'EACCES' });
    await assert.rejects(storage.save('locked/x.txt', new ContentFile('x')), { code: 'EACCES' });
  });
});

describe('settings-backed defaults (item 47)', () => {
  test('a default-constructed storage follows MEDIA_ROOT and MEDIA_URL; explicit values do not', async () => {
    const explicitLocation = freshDir();
    const explicit = new FileSystemStorage({ location: explicitLocation, baseUrl: '/explicit/' });
    const defaults = new FileSystemStorage();
    const newRoot = freshDir('newroot');
    await withSettings({ MEDIA_ROOT: newRoot, MEDIA_URL: '/overridden_media/' }, async () => {
      assert.equal(defaults.location, newRoot);
      assert.equal(defaults.baseLocation, newRoot);
      assert.equal(defaults.baseUrl, '/overridden_media/');
      assert.equal(defaults.url('x.txt'), '/overridden_media/x.txt');
      assert.equal(await defaults.save('followed.txt', new ContentFile('x')), 'followed.txt');
      assert.ok(fs.existsSync(join(newRoot, 'followed.txt')));
      assert.equal(explicit.location, explicitLocation);
      assert.equal(explicit.baseUrl, '/explicit/');
    });
    assert.equal(defaults.location, settings.MEDIA_ROOT);
  });
});

describe('FILE_UPLOAD_MAX_SIZE', () => {
  function unknownSizeStream(total: number): Readable {
    let sent = 0;
    return new Readable({
      read() {
        if (sent >= total) {
          this.push(null);
          return;
        }
        const length = Math.min(100, total - sent);
        sent += length;
        this.push(Buffer.alloc(length, 0x7a));
      },
    });
  }

  function assertTooLarge(error: unknown): true {
    assert.ok(error instanceof FileTooLarge, `expected FileTooLarge, got ${String(error)}`);
    assert.equal(error.limit, 1000);
    assert.match(error.message, /\b1000\b/);
    return true;
  }

  test('a 2000-byte stream of unknown size is refused while streaming, and nothing is stored', async () => {
    const location = freshDir();
    await withSettings({ MEDIA_ROOT: location, FILE_UPLOAD_MAX_SIZE: 1000 }, async () => {
      const storage = new FileSystemStorage();
      await assert.rejects(storage.save('big.bin', new File(unknownSizeStream(2000))), assertTooLarge);
      assert.equal(await storage.exists('big.bin'), false);
      assert.deepEqual(rawTree(location), []);
      // At the limit is fine.
      assert.equal(await storage.save('ok.bin', new File(unknownSizeStream(1000))), 'ok.bin');
      assert.equal(await storage.size('ok.bin'), 1000);
    });
  });

  test('an fd source of known size over the limit is refused before copying', async () => {
    const location = freshDir();
    const sourcePath = join(freshDir('src'), 'big.bin');
    fs.writeFileSync(sourcePath, Buffer.alloc(2000, 1));
    await withSettings({ MEDIA_ROOT: location, FILE_UPLOAD_MAX_SIZE: 1000 }, async () => {
      const storage = new FileSystemStorage();
      const source = new File(fs.openSync(sourcePath, 'r'));
      await assert.rejects(storage.save('big.bin', source), assertTooLarge);
      await source.close();
      assert.deepEqual(rawTree(location), []);
    });
  });

  test('an fd source that grew past the limit after its size was read is caught while it is copied', async () => {
    const location = freshDir();
    const sourcePath = join(freshDir('src'), 'growing.bin');
    fs.writeFileSync(sourcePath, Buffer.alloc(500, 1));
    await withSettings({ MEDIA_ROOT: location, FILE_UPLOAD_MAX_SIZE: 1000 }, async () => {
      const storage = new FileSystemStorage();
      const source = new File(fs.openSync(sourcePath, 'r'));
      assert.equal(source.size, 500); // cached
      fs.appendFileSync(sourcePath, Buffer.alloc(1500, 2));
      await assert.rejects(storage.save('grown.bin', source), assertTooLarge);
      await source.close();
      assert.equal(await storage.exists('grown.bin'), false);
      assert.deepEqual(rawTree(location), [], 'no temporary file is left');
    });
  });

  test('the limit applies to InMemoryStorage too', async () => {
    await withSettings({ FILE_UPLOAD_MAX_SIZE: 1000 }, async () => {
      const storage = new InMemoryStorage();
      await assert.rejects(storage.save('big.bin', new File(unknownSizeStream(2000))), assertTooLarge);
      await assert.rejects(storage.save('big.bin', new ContentFile(new Uint8Array(1001))), assertTooLarge);
      assert.equal(await storage.exists('big.bin'), false);
      assert.equal(await storage.save('ok.bin', new ContentFile(new Uint8Array(1000))), 'ok.bin');
    });
  });
});

describe('delete() (item 44)', () => {
  test('an empty name is refused', async () => {
    const { storage } = makeStorage();
    await assert.rejects(storage.delete(''), { message: 'The name must be given to delete().' });
    await assert.rejects(storage.delete(null as unknown as string), { message: 'The name must be given to delete().' });
  });

  test('an empty folder is removed (also by its absolute path inside the location); a non-empty one is not', async () => {
    const { storage, location } = makeStorage();
    fs.mkdirSync(join(location, 'empty_dir'));
    await storage.delete('empty_dir');
    assert.equal(fs.existsSync(join(location, 'empty_dir')), false);
    fs.mkdirSync(join(location, 'empty_dir_2'));
    await storage.delete(join(location, 'empty_dir_2'));
    assert.equal(fs.existsSync(join(location, 'empty_dir_2')), false);
    await storage.save('full_dir/file.txt', new ContentFile('x'));
    await assert.rejects(storage.delete('full_dir'), { code: 'ENOTEMPTY' });
    await storage.delete('full_dir/file.txt');
    await storage.delete('full_dir/file.txt');
    await storage.delete('missing_dir/missing.txt');
    await storage.delete('full_dir');
    assert.deepEqual(rawTree(location), []);
  });
});

/** Items 16–18: the same results for FileSystemStorage and InMemoryStorage, with and without allowOverwrite. */
const N = 'UnTRIVíAL @fil$ena#me!';
const V = 'UnTRIVíAL_filename';

const nameStorages: Array<[string, () => Storage]> = [
  ['FileSystemStorage', () => makeStorage().storage],
  ['FileSystemStorage(allowOverwrite)', () => makeStorage({ allowOverwrite: true }).storage],
  ['InMemoryStorage', () => new InMemoryStorage()],
];

for (const [label, make] of nameStorages) {
  describe(`${label}: generateFilename and getAvailableName (items 16–18)`, () => {
    test('only the last component is sanitized; "." segments and backslashes are normalised', () => {
      const storage = make();
      for (const name of [N, `././././././${N}`, `.\\.\\.\\${N}`]) assert.equal(storage.generateFilename(name), V, name);
      for (const name of [`some/path/${N}`, `some/./path/./${N}`, `some\\path\\${N}`, `.\\.\\some\\.\\.\\path\\.\\${N}`]) {
        assert.equal(storage.generateFilename(name), `some/path/${V}`, name);
      }
      assert.equal(storage.generateFilename('a b/c d.txt'), 'a b/c_d.txt');
    });

    const noName: Array<[string, string]> = [
      ['/tmp/..', '..'], ['\\tmp\\..', '..'], ['..', '..'], ['/tmp/.', '.'], ['.', '.'], ['', ''],
    ];
    const traversal: Array<[string, string]> = [
      ['../path', '..'], ['..\\path', '..'], ['tmp/../path', 'tmp/..'], ['tmp\\..\\path', 'tmp/..'],
      ['/tmp/../path', '/tmp/..'], ['\\tmp\\..\\path', '/tmp/..'],
    ];

    test('names without a file name: "Could not derive file name from …"', async () => {
      const storage = make();
      for (const [name, quoted] of noName) {
        await assertSuspicious(() => storage.generateFilename(name), `Could not derive file name from '${quoted}'`);
        await assertSuspicious(() => storage.getAvailableName(name), `Could not derive file name from '${quoted}'`);
      }
    });

    test('".." in the folder: "Detected path traversal attempt in …" quoting the folder', async () => {
      const storage = make();
      for (const [name, quoted] of traversal) {
        await assertSuspicious(() => storage.generateFilename(name), `Detected path traversal attempt in '${quoted}'`);
        await assertSuspicious(() => storage.getAvailableName(name), `Detected path traversal attempt in '${quoted}'`);
      }
    });

    test('getAvailableName turns backslashes into slashes', async () => {
      assert.equal(await make().getAvailableName('C:\\x\\y.txt'), 'C:/x/y.txt');
    });

    test('getValidName and getAlternativeName', () => {
      const storage = make();
      assert.equal(storage.getValidName("john's portrait in 2004.jpg"), 'johns_portrait_in_2004.jpg');
      const alternative = storage.getAlternativeName('root', '.tar.gz');
      if (label.includes('allowOverwrite')) assert.equal(alternative, 'root.tar.gz');
      else assert.match(alternative, new RegExp(`^root_${RND7}\\.tar\\.gz$`));
    });
  });
}

describe('signedUrl() and verifySignedUrl()', () => {
  test('a signed URL is valid until it expires; any change makes it invalid', async () => {
    const { storage } = makeStorage();
    await storage.save('folder/a b.txt', new ContentFile('signed'));
    const before = Date.now();
    const url = await storage.signedUrl('folder/a b.txt', { expiresIn: 60 });
    assert.match(url, /^\/test_media_url\/folder\/a%20b\.txt\?expires=\d+&signature=[A-Za-z0-9_-]+$/);

    const check = verifySignedUrl(url);
    assert.equal(check.valid, true);
    if (check.valid) {
      assert.equal(check.path, '/test_media_url/folder/a%20b.txt');
      const expiresIn = check.expiresAt.getTime() - before;
      assert.ok(expiresIn > 58_000 && expiresIn <= 61_000, `expires in ${expiresIn} ms`);
    }
    // An absolute URL around the same path and query verifies too.
    assert.equal(verifySignedUrl(`http://example.com${url}`).valid, true);

    assert.deepEqual(verifySignedUrl(url.replace('a%20b.txt', 'c%20d.txt')), { valid: false, reason: 'tampered' });
    const expires = /expires=(\d+)/.exec(url)![1]!;
    assert.deepEqual(verifySignedUrl(url.replace(`expires=${expires}`, `expires=${Number(expires) + 1000}`)), { valid: false, reason: 'tampered' });
    const signature = /signature=([^&]+)/.exec(url)![1]!;
    const flipped = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
    assert.deepEqual(verifySignedUrl(url.replace(signature, flipped)), { valid: false, reason: 'tampered' });
    assert.deepEqual(verifySignedUrl(url.replace(signature, signature.slice(1))), { valid: false, reason: 'tampered' });
    assert.deepEqual(verifySignedUrl('/test_media_url/folder/a%20b.txt'), { valid: false, reason: 'unsigned' });

    assert.deepEqual(verifySignedUrl(url, { now: Date.now() + 61_000 }), { valid: false, reason: 'expired' });
    assert.equal(verifySignedUrl(url, { now: Date.now() + 30_000 }).valid, true);
  });

  test('a URL signed with another key is tampered', async () => {
    const { storage } = makeStorage();
    const url = await storage.signedUrl('x.txt', { expiresIn: 60 });
    await withSettings({ SECRET_KEY: 'a-completely-different-secret' }, async () => {
      assert.deepEqual(verifySignedUrl(url), { valid: false, reason: 'tampered' });
    });
    assert.equal(verifySignedUrl(url).valid, true);
  });

  test('a name outside the storage is never signed (the URL would grant a path outside MEDIA_URL)', async () => {
    for (const storage of [makeStorage().storage, new InMemoryStorage({ baseUrl: '/test_media_url/' })]) {
      for (const name of ['../admin/delete-everything', 'a/../../secret.txt', '/etc/passwd']) {
        await assert.rejects(storage.signedUrl(name, { expiresIn: 60 }), SuspiciousFileOperation, name);
      }
    }
  });

  test('expiresIn must be positive', async () => {
    const { storage } = makeStorage();
    await assert.rejects(storage.signedUrl('x.txt', { expiresIn: 0 }), RangeError);
    await assert.rejects(storage.signedUrl('x.txt', { expiresIn: -5 }), RangeError);
  });
});

describe('InMemoryStorage specifics (items 52–58)', () => {
  test('open(): a missing file and a folder are errors', async () => {
    const storage = new InMemoryStorage();
    await assert.rejects(storage.open('missing.txt'), { code: 'ENOENT' });
    await storage.save('a/b/file.txt', new ContentFile('x'));
    await assert.rejects(storage.open('a/b'), { code: 'EISDIR' });
  });

  test('size() counts bytes', async () => {
    const storage = new InMemoryStorage();
    assert.equal(await storage.size(await storage.save('t.txt', new ContentFile('test'))), 4);
    assert.equal(await storage.size(await storage.save('e.txt', new ContentFile('è'))), 2);
    assert.equal(await storage.size(await storage.save('b.bin', new ContentFile(new Uint8Array([0xf1, 0xf1])))), 2);
    assert.equal(await storage.size(await storage.save('l.bin', new ContentFile(new Uint8Array(3 * 65536)))), 3 * 65536);
  });

  test('listdir: empty root, insertion order, "./a/./." works, a missing folder is an error', async () => {
    const storage = new InMemoryStorage();
    assert.deepEqual(await storage.listdir(''), [[], []]);
    await storage.save('file_a.txt', new ContentFile('a'));
    await storage.save('file_b.txt', new ContentFile('b'));
    await storage.save('dir/file_c.txt', new ContentFile('c'));
    await storage.save('a/x.txt', new ContentFile('x'));
    assert.deepEqual(await storage.listdir(''), [['dir', 'a'], ['file_a.txt', 'file_b.txt']]);
    assert.deepEqual(await storage.listdir('./a/./.'), [[], ['x.txt']]);
    await assert.rejects(storage.listdir('missing'), { code: 'ENOENT' });
  });

  test('exists() for folders; delete() of a folder drops its subtree; delete("") and missing names are no-ops', async () => {
    const storage = new InMemoryStorage();
    await storage.save('dir/subdir/file.txt', new ContentFile('x'));
    for (const name of ['dir', 'dir/subdir', 'dir/subdir/file.txt']) assert.equal(await storage.exists(name), true, name);
    await storage.delete('dir/subdir');
    assert.equal(await storage.exists('dir/subdir/file.txt'), false);
    assert.equal(await storage.exists('dir/subdir'), false);
    assert.equal(await storage.exists('dir'), true);
    await storage.delete('');
    await storage.delete('missing/deep/file.txt');
    assert.equal(await storage.exists('dir'), true);
  });

  test('a file used as a folder: "… exists and is not a directory."', async () => {
    const storage = new InMemoryStorage({ location: '/virtual' });
    await storage.save('file.txt', new ContentFile('x'));
    await assert.rejects(storage.save('file.txt/child_file.txt', new ContentFile('y')), {
      message: '/virtual/file.txt exists and is not a directory.',
    });
    await assert.rejects(storage.listdir('file.txt/child_dir'), { message: '/virtual/file.txt exists and is not a directory.' });
  });

  test('times: created is kept; a child added to a folder updates its modified time', async () => {
    const storage = new InMemoryStorage();
    await storage.save('dir/first.txt', new ContentFile('x'));
    const created = await storage.getCreatedTime('dir');
    const modified = await storage.getModifiedTime('dir');
    await new Promise((done) => setTimeout(done, 5));
    await storage.save('dir/second.txt', new ContentFile('y'));
    assert.equal((await storage.getCreatedTime('dir')).getTime(), created.getTime());
    assert.ok((await storage.getModifiedTime('dir')).getTime() > modified.getTime());
    const accessed = await storage.getAccessedTime('dir/first.txt');
    await new Promise((done) => setTimeout(done, 5));
    await (await storage.open('dir/first.txt')).close();
    assert.ok((await storage.getAccessedTime('dir/first.txt')).getTime() > accessed.getTime());
    await assert.rejects(storage.getModifiedTime('missing.txt'), { code: 'ENOENT' });
  });

  test('the stored bytes are a copy: changing the source afterwards does not change them', async () => {
    const storage = new InMemoryStorage();
    const bytes = new Uint8Array([1, 2, 3]);
    const name = await storage.save('copy.bin', new ContentFile(bytes));
    bytes[0] = 9;
    assert.deepEqual([...(await readStored(storage, name))], [1, 2, 3]);

    // Nor does changing the bytes a reader got.
    const opened = await storage.open(name);
    const read = await opened.read();
    read[1] = 9;
    for await (const chunk of opened.chunks()) chunk.fill(0);
    assert.deepEqual([...(await readStored(storage, name))], [1, 2, 3]);
  });

  test('the path of a name is under the location; traversal is refused as on disk', async () => {
    const storage = new InMemoryStorage({ location: '/virtual' });
    assert.equal(storage.path('a/b.txt'), '/virtual/a/b.txt');
    await assert.rejects(storage.exists('../x'), SuspiciousFileOperation);
    assert.equal(dirname(storage.path('a/b.txt')), '/virtual/a');
  });
});
