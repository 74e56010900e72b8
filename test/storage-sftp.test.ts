/**
 * SFTPStorage against a real OpenSSH server (Debian's openssh-server), started by these tests on 127.0.0.1.
 * The server runs on this machine, so the tests also look at its folder directly.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { configure, ContentFile, File, FileTooLarge, ImproperlyConfigured } from '../src/index.ts';
import { SFTPStorage, StorageOperationError, type SFTPStorageOptions } from '../src/storage/sftp/index.ts';
import { failingStream, randomFolder, readStored, storageConformance } from './support/conformance.ts';
import { startSshd, type SshdServer } from './support/sshd.ts';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const settingsRoot = mkdtempSync(join(tmpdir(), 'filefield-sftp-settings-'));
const MiB = 1024 * 1024;

let serverPromise: Promise<SshdServer> | undefined;
/** Resolves once the process `pid` has exited (its side of every connection is closed then). */
async function processGone(pid: number): Promise<void> {
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** One sshd for the whole file, started by whichever suite needs it first. */
function server(): Promise<SshdServer> {
  serverPromise ??= startSshd();
  return serverPromise;
}

const openStorages = new Set<SFTPStorage>();

/** A storage on a fresh folder under the server's root; closed at the end of the file. */
async function storageFor(options: Partial<SFTPStorageOptions> = {}): Promise<{ storage: SFTPStorage; folder: string }> {
  const sshd = await server();
  const folder = join(sshd.root, randomFolder());
  const storage = new SFTPStorage({
    host: sshd.host,
    port: sshd.port,
    username: sshd.username,
    privateKey: sshd.privateKey,
    knownHostKey: sshd.hostKey,
    root: folder,
    baseUrl: '/media/',
    ...options,
  });
  storage.alias = 'default';
  openStorages.add(storage);
  return { storage, folder };
}

/** Every entry under a local folder, hidden ones included, as relative paths. */
function entriesUnder(folder: string): string[] {
  try {
    return (readdirSync(folder, { recursive: true }) as string[]).sort();
  } catch {
    return [];
  }
}

function assertOperationError(error: unknown, operation: string, reasonPattern: RegExp, code?: string): true {
  assert.ok(error instanceof StorageOperationError, `expected a StorageOperationError, got ${String(error)}`);
  assert.match(error.message, new RegExp(`^SFTPStorage 'default': ${operation} `));
  assert.match(error.message, reasonPattern);
  assert.equal(error.alias, 'default');
  assert.equal(error.operation, operation);
  if (code !== undefined) assert.equal(error.code, code);
  assert.ok(error.cause !== undefined, 'the underlying error is kept as the cause');
  return true;
}

before(async () => {
  await configure({ BASE_DIR: settingsRoot, SECRET_KEY: 'sftp-test-secret-key-0123456789' });
});

after(async () => {
  await Promise.all([...openStorages].map((storage) => storage.close()));
  await configure({});
  if (serverPromise) await (await serverPromise).stop();
  rmSync(settingsRoot, { recursive: true, force: true });
});

storageConformance(
  'SFTPStorage (OpenSSH)',
  async () => {
    const { storage } = await storageFor();
    return { storage, cleanup: () => storage.close() };
  },
  { hasPath: false },
);

describe('SFTPStorage', () => {
  test('importing the module and url() need no SFTP library; it loads on first use', async () => {
    const script = `
      import { register } from 'node:module';
      register('data:text/javascript,' + encodeURIComponent(
        'export async function resolve(specifier, context, next) {'
        + ' if (specifier === "ssh2-sftp-client" || specifier === "ssh2") throw new Error("SFTP library blocked by the test");'
        + ' return next(specifier, context); }'));
      const { SFTPStorage } = await import('./src/storage/sftp/index.ts');
      const storage = new SFTPStorage({ host: '127.0.0.1', port: 1, password: 'x', knownHostKey: false, baseUrl: 'https://files.example.com/media' });
      console.log(storage.url('a b.txt'));
      try { await storage.exists('a.txt'); console.log('loaded'); } catch (error) { console.log(error.message); }
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: projectRoot,
    });
    const [url, failure] = stdout.trim().split('\n');
    assert.equal(url, 'https://files.example.com/media/a%20b.txt');
    assert.match(failure!, /^SFTPStorage: exists of 'a\.txt' failed: ssh2-sftp-client could not be loaded: .*SFTP library blocked by the test/);
  });

  test('knownHostKey accepts a public key line, a known_hosts line, a fingerprint, a list, or false', async () => {
    const sshd = await server();
    const [keyType, keyBase64] = sshd.hostKey.split(' ');
    const forms: Array<SFTPStorageOptions['knownHostKey']> = [
      sshd.hostKey,
      `[${sshd.host}]:${sshd.port} ${keyType} ${keyBase64}`,
      keyBase64!,
      sshd.hostKeyFingerprint,
      [`SHA256:${'A'.repeat(43)}`, sshd.hostKeyFingerprint],
      `# a known_hosts file\nother.example.com ${keyType} AAAAC3NzaC1lZDI1NTE5AAAAIOtherKeyOtherKeyOtherKeyOtherKeyOtherKey0\n${sshd.host} ${keyType} ${keyBase64}\n`,
      false,
    ];
    for (const knownHostKey of forms) {
      const { storage } = await storageFor({ knownHostKey, root: sshd.root });
      assert.equal(await storage.exists('no-such-file.txt'), false, String(knownHostKey));
      await storage.close();
    }
  });

  test('a server whose host key does not match is refused, and the error shows the key it presented', async () => {
    const sshd = await server();
    const otherKeyFolder = mkdtempSync(join(tmpdir(), 'filefield-other-host-key-'));
    try {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(otherKeyFolder, 'key')]);
      const otherHostKey = readFileSync(join(otherKeyFolder, 'key.pub'), 'utf8').trim();
      const { storage, folder } = await storageFor({ knownHostKey: otherHostKey });
      await assert.rejects(storage.save('secret.txt', new ContentFile('must not be sent')), (error: unknown) =>
        assertOperationError(
          error,
          'save',
          new RegExp(`host key does not match 'knownHostKey': 127\\.0\\.0\\.1:${sshd.port} presented ssh-ed25519 ${sshd.hostKeyFingerprint.replace(/[+/]/g, '\\$&')}\\. .*posing as the server`),
          'EHOSTKEY',
        ));
      assert.deepEqual(entriesUnder(folder), []);
    } finally {
      rmSync(otherKeyFolder, { recursive: true, force: true });
    }
  });

  test('without knownHostKey, connections are refused, naming the key to check and pin', async () => {
    const sshd = await server();
    const { storage } = await storageFor({ knownHostKey: undefined });
    await assert.rejects(storage.exists('x'), (error: unknown) =>
      assertOperationError(error, 'exists', /host key is not trusted yet: .* presented ssh-ed25519 SHA256:.*set 'knownHostKey'/, 'EHOSTKEY'));
    await assert.rejects(storage.exists('x'), (error: unknown) => {
      assert.ok((error as Error).message.includes(sshd.hostKeyFingerprint));
      return true;
    });
  });

  test('a private key the server does not accept: a clear error naming the user', async () => {
    const keyFolder = mkdtempSync(join(tmpdir(), 'filefield-other-client-key-'));
    try {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keyFolder, 'key')]);
      const { storage } = await storageFor({ privateKey: readFileSync(join(keyFolder, 'key'), 'utf8') });
      const sshd = await server();
      await assert.rejects(storage.save('x.txt', new ContentFile('x')), (error: unknown) =>
        assertOperationError(error, 'save', new RegExp(`refused the credentials of user '${sshd.username}' .*check 'username' and 'privateKey'`), 'EAUTH'));
    } finally {
      rmSync(keyFolder, { recursive: true, force: true });
    }
  });

  test('a closed port: a quick error that says the connection was refused', async () => {
    const { storage } = await storageFor({ port: 1 });
    const started = Date.now();
    await assert.rejects(storage.open('x.txt'), (error: unknown) =>
      assertOperationError(error, 'open', /cannot connect to 127\.0\.0\.1:1: connection refused/, 'ECONNREFUSED'));
    assert.ok(Date.now() - started < 5_000);
  });

  test('a missing file: open() and size() fail with ENOENT', async () => {
    const { storage } = await storageFor();
    await assert.rejects(storage.open('missing.txt'), (error: unknown) => assertOperationError(error, 'open', /no such file/, 'ENOENT'));
    await assert.rejects(storage.size('missing.txt'), { code: 'ENOENT' });
  });

  test('a source that fails midway leaves nothing on the server, not even a temporary file', async () => {
    const { storage, folder } = await storageFor();
    await storage.save('kept.txt', new ContentFile('kept'));
    await assert.rejects(storage.save('broken/upload.bin', new File(failingStream(3 * MiB))), /the client went away/);
    assert.equal(await storage.exists('broken/upload.bin'), false);
    assert.deepEqual(entriesUnder(folder).filter((entry) => entry !== 'broken'), ['kept.txt']);
    assert.deepEqual(entriesUnder(join(folder, 'broken')), []);
    // The connection is still good after the failure.
    assert.equal((await readStored(storage, 'kept.txt')).toString(), 'kept');
  });

  test('FILE_UPLOAD_MAX_SIZE stops a stream as it passes the limit, and nothing is kept', async () => {
    const { storage, folder } = await storageFor();
    await configure({ BASE_DIR: settingsRoot, SECRET_KEY: 'sftp-test-secret-key-0123456789', FILE_UPLOAD_MAX_SIZE: 3 * MiB });
    try {
      await assert.rejects(storage.save('big.bin', new File(Readable.from([Buffer.alloc(2 * MiB), Buffer.alloc(2 * MiB)]))), FileTooLarge);
    } finally {
      await configure({ BASE_DIR: settingsRoot, SECRET_KEY: 'sftp-test-secret-key-0123456789' });
    }
    assert.deepEqual(entriesUnder(folder), []);
  });

  test('a name taken by another writer during the upload is never overwritten, even for a stream', async () => {
    const { storage, folder } = await storageFor();
    let sent = false;
    const stream = new Readable({
      read() {
        if (sent) {
          this.push(null);
          return;
        }
        sent = true;
        writeFileSync(join(folder, 'race.txt'), 'the other writer');
        this.push(Buffer.from('ours, streamed'));
      },
    });
    await storage.save('placeholder.txt', new ContentFile('makes the folder'));
    const name = await storage.save('race.txt', new File(stream));
    assert.match(name, /^race_[A-Za-z0-9]{7}\.txt$/);
    assert.equal(readFileSync(join(folder, 'race.txt'), 'utf8'), 'the other writer');
    assert.equal(readFileSync(join(folder, name), 'utf8'), 'ours, streamed');
  });

  test('overwriteFiles: true replaces the file atomically under the same name', async () => {
    const { storage, folder } = await storageFor({ overwriteFiles: true });
    assert.equal(await storage.save('same.txt', new ContentFile('first')), 'same.txt');
    assert.equal(await storage.save('same.txt', new ContentFile('second')), 'same.txt');
    assert.equal(readFileSync(join(folder, 'same.txt'), 'utf8'), 'second');
    assert.deepEqual(entriesUnder(folder), ['same.txt']);
  });

  test('fileMode and dirMode are applied; by default files get FILE_UPLOAD_PERMISSIONS (0o644)', async () => {
    const { storage, folder } = await storageFor({ fileMode: 0o640, dirMode: 0o750 });
    await storage.save('deep/er/file.txt', new ContentFile('x'));
    assert.equal(statSync(join(folder, 'deep/er/file.txt')).mode & 0o7777, 0o640);
    assert.equal(statSync(join(folder, 'deep/er')).mode & 0o7777, 0o750);
    assert.equal(statSync(join(folder, 'deep')).mode & 0o7777, 0o750);

    const { storage: defaults, folder: defaultFolder } = await storageFor();
    await defaults.save('file.txt', new ContentFile('x'));
    assert.equal(statSync(join(defaultFolder, 'file.txt')).mode & 0o7777, 0o644);
  });

  // Bounded: an operation that never settles on a dropped connection must fail here, not hang the suite.
  test('one connection serves every operation, and a dropped connection is reopened', { timeout: 60_000 }, async () => {
    const sshd = await server();
    const before = new Set(sshd.connectionPids());
    const { storage } = await storageFor();
    await Promise.all(Array.from({ length: 8 }, (_, index) => storage.save(`many/${index}.txt`, new ContentFile(String(index)))));
    assert.deepEqual((await storage.listdir('many'))[1].sort(), ['0.txt', '1.txt', '2.txt', '3.txt', '4.txt', '5.txt', '6.txt', '7.txt']);
    const ours = sshd.connectionPids().filter((pid) => !before.has(pid));
    assert.equal(ours.length, 1, `connections opened: ${ours.length}`);

    // The server side of the connection goes away (as after a server restart or an idle timeout). Whether
    // or not the client has noticed by the time the next operations run, those that are safe to repeat
    // succeed on a new connection: once at once, once after the server's side is gone.
    process.kill(ours[0]!, 'SIGTERM');
    const [exists, size, listing, bytes] = await Promise.all([
      storage.exists('many/3.txt'), storage.size('many/3.txt'), storage.listdir('many'), readStored(storage, 'many/3.txt'),
    ]);
    assert.deepEqual([exists, size, listing[1].length, bytes.toString()], [true, 1, 8, '3']);
    await processGone(ours[0]!);
    const second = sshd.connectionPids().filter((pid) => !before.has(pid));
    assert.equal(second.length, 1, `connections after the first drop: ${second.length}`);
    process.kill(second[0]!, 'SIGTERM');
    await processGone(second[0]!);
    assert.equal(await storage.exists('many/3.txt'), true);
    assert.equal(await storage.size('many/4.txt'), 1);
    assert.deepEqual((await storage.listdir('many'))[1].length, 8);
    assert.equal((await readStored(storage, 'many/3.txt')).toString(), '3');
    await storage.delete('many/7.txt');
    assert.equal(await storage.save('after-reconnect.txt', new ContentFile('ok')), 'after-reconnect.txt');
  });

  test('an idle connection does not keep the process alive', async () => {
    const sshd = await server();
    const folder = join(sshd.root, randomFolder());
    const options = { host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, knownHostKey: sshd.hostKey, root: folder };
    const script = `
      const { SFTPStorage } = await import('./src/storage/sftp/index.ts');
      const { ContentFile } = await import('./src/files/File.ts');
      const storage = new SFTPStorage(${JSON.stringify(options)});
      const name = await storage.save('left-open.txt', new ContentFile('no close() call'));
      const file = await storage.open(name);
      console.log(Buffer.from(await file.read()).toString());
      await file.close();
      // A large file closed after its first piece gives the connection back too.
      const large = await storage.save('large.bin', new Uint8Array(8 * 1024 * 1024));
      const partly = await storage.open(large);
      for await (const chunk of partly.chunks()) break;
      await partly.close();
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: projectRoot });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    const exitCode = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(null);
      }, 15_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    assert.equal(exitCode, 0, 'the script ended by itself');
    assert.equal(stdout.trim(), 'no close() call');
  });

  test('bad options are refused at construction, naming the option', () => {
    assert.throws(() => new SFTPStorage({ password: 'x' }), (error: unknown) => {
      assert.ok(error instanceof ImproperlyConfigured);
      assert.match(error.message, /SFTPStorage option 'host' is required/);
      return true;
    });
    assert.throws(() => new SFTPStorage({ host: 'h' }), /'privateKey' or password is required/);
    assert.throws(() => new SFTPStorage({ host: 'h', privateKey: '/home/me/.ssh/id_ed25519' }), /not a path/);
    assert.throws(() => new SFTPStorage({ host: 'h', password: 'x', knownHostKey: 'not a key' }), /'knownHostKey' is not usable/);
    assert.throws(() => new SFTPStorage({ host: 'h', password: 'x', hots: 'h' } as SFTPStorageOptions), /'hots' is not an SFTPStorage option/);
  });

  test('names that climb out of the root are refused by every operation', async () => {
    const { storage } = await storageFor();
    await assert.rejects(storage.open('../outside.txt'), /outside of the base path component/);
    await assert.rejects(storage.delete('a/../../outside.txt'), /outside of the base path component/);
    await assert.rejects(storage.exists('/etc/passwd'), /outside of the base path component/);
  });

  test("the article's workflow with SFTP as the default storage", async () => {
    const sshd = await server();
    const root = join(sshd.root, randomFolder());
    const database = join(settingsRoot, `sftp-workflow-${randomFolder()}.json`);
    await configure({
      BASE_DIR: settingsRoot,
      SECRET_KEY: 'sftp-test-secret-key-0123456789',
      DATABASE: database,
      MEDIA_URL: '/media/',
      STORAGES: {
        default: {
          BACKEND: 'sftp',
          OPTIONS: { host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, knownHostKey: sshd.hostKey, root },
        },
      },
    });
    const { storages } = await import('../src/index.ts');
    const storage = storages.get('default') as SFTPStorage;
    openStorages.add(storage);
    try {
      const { Profile } = await import('../example/models.ts');
      const profile = new Profile();
      await profile.picture.save('my-image.png', new File(openSync(join(projectRoot, 'fixtures/image.png'), 'r')));
      assert.match(profile.picture.name, /^profile_pics\/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.png$/);
      assert.equal(profile.picture.url, `/media/${profile.picture.name}`);
      assert.throws(() => profile.picture.path, /This backend doesn't support absolute paths\./);
      assert.deepEqual(readFileSync(join(root, profile.picture.name)), readFileSync(join(projectRoot, 'fixtures/image.png')));

      const last = await Profile.objects.last();
      assert.ok(last);
      assert.equal(last.picture.name, profile.picture.name);
      assert.equal(last.picture.url, profile.picture.url);
    } finally {
      await storage.close();
      await configure({ BASE_DIR: settingsRoot, SECRET_KEY: 'sftp-test-secret-key-0123456789' });
    }
  });
});
