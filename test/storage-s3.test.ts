/**
 * S3Storage against a real S3-protocol server (s3rver in a child process): the shared conformance suite, then
 * what only S3 has: URL forms and signing, key prefixes, object parameters, conditional writes, errors.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { configure, ContentFile, defaultStorage, File, storages, SuspiciousFileOperation } from '../src/index.ts';
import { S3Storage, S3StorageError, type S3StorageOptions } from '../src/storage/s3/index.ts';
import { presignUrl } from '../src/storage/s3/sigv4.ts';
import { objectUrl } from '../src/storage/s3/addressing.ts';
import { randomFolder, readStored, storageConformance } from './support/conformance.ts';
import { S3RVER_CREDENTIALS, startS3rver, type RunningS3rver } from './support/s3rver.ts';

const MiB = 1024 * 1024;
const run = promisify(execFile);

let server: RunningS3rver;
let plainServer: RunningS3rver;
const settingsRoot = mkdtempSync(join(tmpdir(), 'filefield-s3-settings-'));

before(async () => {
  [server, plainServer] = await Promise.all([startS3rver(), startS3rver({ conditionalWrites: false, buckets: ['plain-bucket'] })]);
  await configure({ BASE_DIR: settingsRoot, SECRET_KEY: 's3-test-secret-key-0123456789' });
});

after(async () => {
  await configure({});
  await Promise.all([server?.stop(), plainServer?.stop()]);
  rmSync(settingsRoot, { recursive: true, force: true });
});

function s3Options(extra: S3StorageOptions = {}, target: RunningS3rver = server): S3StorageOptions {
  return { bucket: target.bucket, endpoint: target.endpoint, ...S3RVER_CREDENTIALS, ...extra };
}

function sdkClient(target: RunningS3rver = server): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint: target.endpoint,
    forcePathStyle: true,
    credentials: { ...S3RVER_CREDENTIALS }, // a copy: the SDK marks the object it is given
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** A port on 127.0.0.1 where nothing listens (taken from the OS, then released). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function rejectsWith(promise: Promise<unknown>, check: (error: S3StorageError) => void): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof S3StorageError, `expected an S3StorageError, got ${String(error)}`);
    check(error);
    return true;
  });
}

/**
 * `storage` as a save sees it when another writer takes the name in the race between the name check and the
 * write: the first check answers that the name is free, having just stored `otherContent` under it.
 */
function racedBy(storage: S3Storage, otherContent: string): S3Storage {
  let checks = 0;
  return Object.assign(Object.create(storage) as S3Storage, {
    async isNameAvailable(candidate: string): Promise<boolean> {
      if (checks++ === 0) {
        await storage.save(candidate, new ContentFile(otherContent));
        return true;
      }
      return storage.isNameAvailable(candidate);
    },
  });
}

storageConformance(
  'S3Storage (s3rver with conditional writes)',
  async () => ({ storage: Object.assign(new S3Storage(s3Options({ location: `conformance-${randomFolder(6)}` })), { alias: 'conformance' }) }),
  { hasPath: false, largeFileMiB: 50 },
);

describe('S3Storage: loading', () => {
  test('importing the module loads no AWS SDK; the first request does', async () => {
    // A child process, so that nothing this test file imported counts. The SDK is CommonJS: whatever it
    // loaded is in require.cache, which the second check shows is the right place to look.
    const script = `
      import { createRequire } from 'node:module';
      const require = createRequire(import.meta.url);
      const loaded = () => Object.keys(require.cache).filter((path) => path.includes('@aws-sdk')).length;
      const { S3Storage } = await import('./src/storage/s3/index.ts');
      const storage = new S3Storage({ bucket: ${JSON.stringify(server.bucket)}, endpoint: ${JSON.stringify(server.endpoint)}, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });
      storage.url('a.txt');
      const before = loaded();
      await storage.exists('a.txt');
      console.log(JSON.stringify({ before, after: loaded() }));
    `;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd() });
    const { before: beforeCount, after: afterCount } = JSON.parse(stdout.trim().split('\n').pop()!) as { before: number; after: number };
    assert.equal(beforeCount, 0, 'no @aws-sdk module after the import and url()');
    assert.ok(afterCount > 0, 'the SDK is loaded after the first request');
  });

  test('through STORAGES: BACKEND "s3" with OPTIONS, the alias set, and the article workflow on defaultStorage', async () => {
    await configure({
      BASE_DIR: settingsRoot,
      SECRET_KEY: 's3-test-secret-key-0123456789',
      STORAGES: { default: { BACKEND: 's3', OPTIONS: { ...s3Options({ location: 'media' }), querystringAuth: false } } },
    });
    try {
      const storage = storages.get('default');
      assert.ok(storage instanceof S3Storage);
      assert.equal(storage.alias, 'default');
      const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201e2d2a5d20000000049454e44ae426082', 'hex');
      const name = await defaultStorage.save('profile_pics/a.png', new ContentFile(png));
      assert.equal(name, 'profile_pics/a.png');
      const url = defaultStorage.url(name);
      assert.equal(url, `${server.endpoint}/${server.bucket}/media/profile_pics/a.png`);
      const response = await fetch(url);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'image/png', 'the content type is sniffed from the bytes');
      assert.deepEqual(Buffer.from(await response.arrayBuffer()), png);
      await defaultStorage.delete(name);
    } finally {
      await configure({ BASE_DIR: settingsRoot, SECRET_KEY: 's3-test-secret-key-0123456789' });
    }
  });

  test('bad options fail at construction with the option named', () => {
    assert.throws(() => new S3Storage({}), /S3Storage option bucket is required/);
    assert.throws(() => new S3Storage({ bucket: 'b', bucket_name: 'x' } as S3StorageOptions), /S3Storage option bucket_name is not an S3Storage option/);
    assert.throws(() => new S3Storage({ bucket: 'b', endpoint: 'not a url' }), /S3Storage option endpoint must be a URL/);
    assert.throws(() => new S3Storage({ bucket: 'b', querystringExpire: 0 }), /querystringExpire must be a whole number from 1 to 604800/);
    assert.throws(() => new S3Storage({ bucket: 'b', accessKeyId: 'only-the-key' }), /secretAccessKey is missing/);
    assert.throws(() => new S3Storage({ bucket: 'b', location: '../up' }), /must not contain '\.\.'/);
    assert.throws(() => new S3Storage({ bucket: 'b', objectParameters: { CacheControl: 3 } } as unknown as S3StorageOptions), /objectParameters.CacheControl must be a string/);
  });

  test('credentials come from the AWS environment variables when OPTIONS has none', () => {
    const saved = { ...process.env };
    try {
      process.env.AWS_ACCESS_KEY_ID = 'ENVKEY';
      process.env.AWS_SECRET_ACCESS_KEY = 'ENVSECRET';
      process.env.AWS_SESSION_TOKEN = 'ENVTOKEN';
      process.env.AWS_REGION = 'eu-west-3';
      const storage = new S3Storage({ bucket: 'bucket' });
      assert.deepEqual(storage.settings.credentials, { accessKeyId: 'ENVKEY', secretAccessKey: 'ENVSECRET', sessionToken: 'ENVTOKEN' });
      assert.equal(storage.settings.region, 'eu-west-3');
      const url = new URL(storage.url('a.txt'));
      assert.equal(url.host, 'bucket.s3.eu-west-3.amazonaws.com');
      assert.match(url.searchParams.get('X-Amz-Credential')!, /^ENVKEY\/\d{8}\/eu-west-3\/s3\/aws4_request$/);
      assert.equal(url.searchParams.get('X-Amz-Security-Token'), 'ENVTOKEN');
    } finally {
      process.env = saved;
    }
  });

  test('without static credentials, url() says to use signedUrl()', () => {
    const saved = { ...process.env };
    try {
      delete process.env.AWS_ACCESS_KEY_ID;
      delete process.env.AWS_SECRET_ACCESS_KEY;
      const storage = Object.assign(new S3Storage({ bucket: 'bucket' }), { alias: 'media' });
      assert.throws(() => storage.url('a.txt'), /S3 storage 'media': url\(\) signs URLs on the spot and needs static credentials.*await storage\.signedUrl\(name, \{ expiresIn \}\)/);
      // Unsigned URLs need no credentials.
      assert.equal(new S3Storage({ bucket: 'bucket', querystringAuth: false }).url('a b.txt'), 'https://bucket.s3.us-east-1.amazonaws.com/a%20b.txt');
    } finally {
      process.env = saved;
    }
  });
});

describe('S3Storage: URLs', () => {
  const signingDate = new Date('2024-01-02T03:04:05Z');
  const awkwardKey = "dir/a b+c (1)'!*~é.png";

  test('the synchronous presigned URL equals the SDK presigner\'s, for every addressing style', async () => {
    const configurations: Array<{ label: string; options: S3StorageOptions }> = [
      { label: 'AWS, virtual-hosted', options: { bucket: 'my-bucket', region: 'eu-west-1' } },
      { label: 'AWS, dotted bucket (path style)', options: { bucket: 'my.dotted.bucket', region: 'eu-west-1' } },
      { label: 'AWS China', options: { bucket: 'my-bucket', region: 'cn-north-1' } },
      { label: 'IP endpoint', options: { bucket: 'my-bucket', endpoint: 'http://127.0.0.1:9000' } },
      { label: 'host endpoint', options: { bucket: 'my-bucket', endpoint: 'https://minio.example.com' } },
      { label: 'forced path style with a base path', options: { bucket: 'my-bucket', endpoint: 'https://gw.example.com/s3', forcePathStyle: true } },
      { label: 'R2', options: { bucket: 'my-bucket', region: 'auto', endpoint: 'https://account.r2.cloudflarestorage.com' } },
      { label: 'session token', options: { bucket: 'my-bucket', sessionToken: 'TOKEN/with+chars=' } },
    ];
    for (const { label, options } of configurations) {
      const all: S3StorageOptions = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', ...options };
      const storage = new S3Storage(all);
      const client = new S3Client({
        region: storage.settings.region,
        ...(all.endpoint ? { endpoint: all.endpoint } : {}),
        forcePathStyle: all.forcePathStyle ?? false,
        credentials: { ...storage.settings.credentials! },
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
      const expected = await getSignedUrl(client, new GetObjectCommand({ Bucket: all.bucket, Key: awkwardKey }), { expiresIn: 900, signingDate });
      const url = objectUrl(storage.settings, awkwardKey);
      url.searchParams.set('x-id', 'GetObject');
      const actual = presignUrl({ method: 'GET', url, region: storage.settings.region, credentials: storage.settings.credentials!, expiresIn: 900, signingDate });
      assert.equal(actual, expected, label);
    }
  });

  test('url() with querystringAuth (the default) is presigned, has the SDK\'s form, and the server serves it', async () => {
    const storage = new S3Storage(s3Options({ querystringExpire: 120 }));
    const name = await storage.save(`${randomFolder()}/signed file.txt`, new ContentFile('signed bytes'));
    const url = new URL(storage.url(name));
    assert.equal(url.origin + url.pathname, `${server.endpoint}/${server.bucket}/${name.replace(' ', '%20')}`);
    assert.equal(url.searchParams.get('X-Amz-Expires'), '120');
    assert.equal(url.searchParams.get('X-Amz-Algorithm'), 'AWS4-HMAC-SHA256');
    assert.equal(url.searchParams.get('X-Amz-SignedHeaders'), 'host');

    const client = sdkClient();
    const fromSdk = new URL(await getSignedUrl(client, new GetObjectCommand({ Bucket: server.bucket, Key: name }), { expiresIn: 120 }));
    assert.deepEqual([...url.searchParams.keys()].sort(), [...fromSdk.searchParams.keys()].sort());
    assert.equal(url.origin + url.pathname, fromSdk.origin + fromSdk.pathname);

    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'signed bytes');
  });

  test('an expired presigned URL is refused by the server', async () => {
    const storage = new S3Storage(s3Options());
    const name = await storage.save(`${randomFolder()}/old.txt`, new ContentFile('old'));
    const url = objectUrl(storage.settings, storage.keyOf(name));
    const expired = presignUrl({
      method: 'GET', url, region: storage.settings.region, credentials: storage.settings.credentials!, expiresIn: 1,
      signingDate: new Date(Date.now() - 60_000),
    });
    const response = await fetch(expired);
    assert.equal(response.status, 403);
    assert.match(await response.text(), /Request has expired/);
  });

  test('signedUrl() uses the SDK presigner and the server serves it', async () => {
    const storage = new S3Storage(s3Options());
    const name = await storage.save(`${randomFolder()}/async.txt`, new ContentFile('async signed'));
    const url = await storage.signedUrl(name, { expiresIn: 60 });
    assert.equal(new URL(url).searchParams.get('X-Amz-Expires'), '60');
    assert.equal(await (await fetch(url)).text(), 'async signed');
    await assert.rejects(storage.signedUrl(name, { expiresIn: 0 }), RangeError);
    await assert.rejects(storage.signedUrl(name, { expiresIn: 8 * 24 * 3600 }), RangeError);
  });

  test('querystringAuth false gives the plain object URL', () => {
    assert.equal(new S3Storage(s3Options({ querystringAuth: false })).url('a dir/x.png'), `${server.endpoint}/${server.bucket}/a%20dir/x.png`);
    assert.equal(
      new S3Storage({ bucket: 'media-bucket', region: 'eu-central-1', querystringAuth: false }).url('x.png'),
      'https://media-bucket.s3.eu-central-1.amazonaws.com/x.png',
    );
  });

  test('customDomain gives unsigned URLs on that domain, under the location', () => {
    const storage = new S3Storage(s3Options({ customDomain: 'cdn.example.com', location: 'media' }));
    assert.equal(storage.url('profile_pics/a b.png'), 'https://cdn.example.com/media/profile_pics/a%20b.png');
    const http = new S3Storage(s3Options({ customDomain: 'cdn.example.com/', urlProtocol: 'http:' }));
    assert.equal(http.url('x.png'), 'http://cdn.example.com/x.png');
  });
});

describe('S3Storage: keys and objects', () => {
  test('location is a key prefix: names stay relative, keys carry it, listings are inside it', async () => {
    const prefix = `site-${randomFolder(6)}/media`;
    const storage = new S3Storage(s3Options({ location: `/${prefix}/` }));
    const name = await storage.save('avatars/./me.txt', new ContentFile('me'));
    assert.equal(name, 'avatars/me.txt');
    const head = await sdkClient().send(new HeadObjectCommand({ Bucket: server.bucket, Key: `${prefix}/avatars/me.txt` }));
    assert.equal(head.ContentLength, 2);
    assert.deepEqual(await storage.listdir(''), [['avatars'], []]);
    assert.deepEqual(await storage.listdir('avatars'), [[], ['me.txt']]);
    assert.equal(storage.url(name).split('?')[0], `${server.endpoint}/${server.bucket}/${prefix}/avatars/me.txt`);
  });

  test('names that would leave the location are refused by every operation', async () => {
    const storage = new S3Storage(s3Options({ location: 'inside' }));
    const refused = (error: unknown) => error instanceof SuspiciousFileOperation && /located outside of the base path component \(inside\)/.test(error.message);
    for (const name of ['../outside.txt', 'a/../../outside.txt', '/etc/passwd']) {
      await assert.rejects(storage.exists(name), refused, name);
      await assert.rejects(storage.open(name), refused, name);
      await assert.rejects(storage.delete(name), refused, name);
      await assert.rejects(storage.size(name), refused, name);
      assert.throws(() => storage.url(name), refused, name);
    }
    await assert.rejects(storage.listdir('..'), refused);
  });

  test('listdir() pages through more than 1000 keys', async () => {
    const storage = new S3Storage(s3Options());
    const folder = randomFolder();
    const client = sdkClient();
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    const count = 1005;
    for (let start = 0; start < count; start += 50) {
      await Promise.all(Array.from({ length: Math.min(50, count - start) }, (_, offset) =>
        client.send(new PutObjectCommand({ Bucket: server.bucket, Key: `${folder}/f${String(start + offset).padStart(4, '0')}`, Body: 'x' }))));
    }
    const [dirs, files] = await storage.listdir(folder);
    assert.deepEqual(dirs, []);
    assert.equal(files.length, count);
    assert.equal(new Set(files).size, count);
  });

  test('objectParameters and defaultAcl are sent with every upload, small or multipart', async () => {
    const storage = new S3Storage(s3Options({
      objectParameters: { CacheControl: 'max-age=86400', ContentDisposition: 'attachment', Metadata: { owner: 'tests' } },
      defaultAcl: 'private',
      multipartChunkSize: 5 * MiB,
    }));
    const folder = randomFolder();
    const small = await storage.save(`${folder}/small.txt`, new ContentFile('small'));
    const large = await storage.save(`${folder}/large.bin`, new ContentFile(new Uint8Array(11 * MiB)));
    for (const name of [small, large]) {
      const head = await sdkClient().send(new HeadObjectCommand({ Bucket: server.bucket, Key: name }));
      assert.equal(head.CacheControl, 'max-age=86400', name);
      assert.equal(head.ContentDisposition, 'attachment', name);
      assert.deepEqual(head.Metadata, { owner: 'tests' }, name);
    }
    assert.equal(await storage.size(large), 11 * MiB);
  });

  test('the content type comes from the bytes, unless objectParameters sets one', async () => {
    const folder = randomFolder();
    const sniffing = new S3Storage(s3Options());
    const text = await sniffing.save(`${folder}/looks.png`, new ContentFile('<html>not an image</html>'));
    const head = await sdkClient().send(new HeadObjectCommand({ Bucket: server.bucket, Key: text }));
    assert.equal(head.ContentType, 'text/plain', 'the name does not decide the type');
    const fixed = new S3Storage(s3Options({ objectParameters: { ContentType: 'application/x-custom' } }));
    const custom = await fixed.save(`${folder}/custom.bin`, new ContentFile('x'));
    assert.equal((await sdkClient().send(new HeadObjectCommand({ Bucket: server.bucket, Key: custom }))).ContentType, 'application/x-custom');
  });

  test('open() streams the body with its size known from Content-Length', async () => {
    const storage = new S3Storage(s3Options());
    const name = await storage.save(`${randomFolder()}/sized.bin`, new ContentFile(new Uint8Array(300_000).fill(7)));
    const file = await storage.open(name);
    try {
      assert.equal(file.size, 300_000);
      assert.equal(file.seekable, false, 'a response body is a stream, not a buffer');
      assert.equal(file.name, name);
      let total = 0;
      for await (const chunk of file.chunks()) total += chunk.byteLength;
      assert.equal(total, 300_000);
    } finally {
      await file.close();
    }
  });

  test('fileOverwrite true replaces the object under the same name', async () => {
    const storage = new S3Storage(s3Options({ fileOverwrite: true }));
    const name = `${randomFolder()}/same.txt`;
    assert.equal(await storage.save(name, new ContentFile('first')), name);
    assert.equal(await storage.save(name, new ContentFile('second')), name);
    assert.equal((await readStored(storage, name)).toString(), 'second');
  });

  test('a name taken between the check and the write goes to another name (412 from the server)', async () => {
    const storage = new S3Storage(s3Options());
    const name = `${randomFolder()}/raced.txt`;
    // The race, made certain: the name looks free to this save's check, and is taken by the time it writes.
    const racing = racedBy(storage, 'the other writer');
    const stored = await racing.save(name, new ContentFile('this writer'));
    assert.notEqual(stored, name);
    assert.equal((await readStored(storage, name)).toString(), 'the other writer');
    assert.equal((await readStored(storage, stored)).toString(), 'this writer');
  });

  test('a multipart upload whose name was taken meanwhile is retried under another name when the file can be reread', async () => {
    const storage = new S3Storage(s3Options({ multipartChunkSize: 5 * MiB }));
    const name = `${randomFolder()}/raced-large.bin`;
    const racing = racedBy(storage, 'small winner');
    const stored = await racing.save(name, new ContentFile(new Uint8Array(6 * MiB).fill(1)));
    assert.notEqual(stored, name);
    assert.equal(await storage.size(stored), 6 * MiB);
    assert.equal((await readStored(storage, name)).toString(), 'small winner');
  });

  test('a streamed multipart upload whose name was taken meanwhile fails clearly instead of overwriting', async () => {
    const storage = Object.assign(new S3Storage(s3Options({ multipartChunkSize: 5 * MiB })), { alias: 'default' });
    const name = `${randomFolder()}/raced-stream.bin`;
    const racing = racedBy(storage, 'small winner');
    const stream = Readable.from([Buffer.alloc(3 * MiB, 1), Buffer.alloc(3 * MiB, 2)]);
    await rejectsWith(racing.save(name, new File(stream)), (error) => {
      assert.equal(
        error.message,
        `S3 storage 'default': save of '${name}' failed: another save took the name while this upload ran, and the content `
          + '(a stream) cannot be read again to store it under another name (PreconditionFailed)',
      );
    });
    assert.equal((await readStored(storage, name)).toString(), 'small winner');
  });

  test('on a server that ignores If-None-Match, a taken name still gets a suffix (the check before the write)', async () => {
    const storage = new S3Storage(s3Options({}, plainServer));
    const folder = randomFolder();
    const first = await storage.save(`${folder}/a.txt`, new ContentFile('1'));
    const second = await storage.save(`${folder}/a.txt`, new ContentFile('2'));
    assert.equal(first, `${folder}/a.txt`);
    assert.match(second, new RegExp(`^${folder}/a_[A-Za-z0-9]{7}\\.txt$`));
  });

  test('a failing source leaves no object, and its own error comes through unchanged', async () => {
    const storage = new S3Storage(s3Options({ multipartChunkSize: 5 * MiB }));
    const folder = randomFolder();
    const broken = new Error('the source broke');
    async function* failingAfter(bytes: number): AsyncGenerator<Buffer> {
      for (let sent = 0; sent < bytes; sent += MiB) yield Buffer.alloc(MiB, 3);
      throw broken;
    }
    // After two parts (multipart under way) and before one part (a single PUT).
    await assert.rejects(storage.save(`${folder}/large.bin`, new File(Readable.from(failingAfter(12 * MiB)))), (error) => error === broken);
    await assert.rejects(storage.save(`${folder}/small.bin`, new File(Readable.from(failingAfter(2 * MiB)))), (error) => error === broken);
    assert.equal(await storage.exists(`${folder}/large.bin`), false);
    assert.equal(await storage.exists(`${folder}/small.bin`), false);
    const listing = await sdkClient().send(new ListObjectsV2Command({ Bucket: server.bucket, Prefix: `${folder}/` }));
    assert.equal(listing.KeyCount ?? 0, 0);
  });

  test('FILE_UPLOAD_MAX_SIZE stops an oversized stream with FileTooLarge, and nothing is stored', async () => {
    const storage = new S3Storage(s3Options({ multipartChunkSize: 5 * MiB }));
    const folder = randomFolder();
    await configure({ BASE_DIR: settingsRoot, SECRET_KEY: 's3-test-secret-key-0123456789', FILE_UPLOAD_MAX_SIZE: 7 * MiB });
    try {
      await assert.rejects(
        storage.save(`${folder}/big.bin`, new File(Readable.from([Buffer.alloc(4 * MiB), Buffer.alloc(4 * MiB)]))),
        { name: 'FileTooLarge' },
      );
    } finally {
      await configure({ BASE_DIR: settingsRoot, SECRET_KEY: 's3-test-secret-key-0123456789' });
    }
    assert.equal(await storage.exists(`${folder}/big.bin`), false);
  });
});

describe('S3Storage: errors name the storage, the operation and the cause', () => {
  test('a missing bucket', async () => {
    const storage = Object.assign(new S3Storage(s3Options({ bucket: 'nope' })), { alias: 'default' });
    await rejectsWith(storage.save('x.png', new ContentFile('x')), (error) => {
      assert.equal(error.message, "S3 storage 'default': save of 'x.png' failed: the bucket 'nope' does not exist (NoSuchBucket)");
      assert.equal(error.alias, 'default');
      assert.equal(error.operation, 'save');
    });
    await rejectsWith(storage.size('x.png'), (error) => {
      assert.equal(error.message, "S3 storage 'default': size of 'x.png' failed: the bucket 'nope' does not exist (NoSuchBucket)");
    });
    await rejectsWith(storage.listdir(''), (error) => assert.match(error.message, /listdir of '' failed: the bucket 'nope' does not exist/));
  });

  test('a wrong access key', async () => {
    const storage = Object.assign(new S3Storage(s3Options({ accessKeyId: 'WRONGKEY', secretAccessKey: 'x' })), { alias: 'uploads' });
    await rejectsWith(storage.save('a.txt', new ContentFile('x')), (error) => {
      assert.equal(
        error.message,
        "S3 storage 'uploads': save of 'a.txt' failed: the server does not know the access key 'WRONGKEY': check accessKeyId / AWS_ACCESS_KEY_ID (InvalidAccessKeyId)",
      );
    });
    // HEAD answers have no error document; the storage finds the real cause.
    await rejectsWith(storage.size('a.txt'), (error) => assert.match(error.message, /\(InvalidAccessKeyId\)$/));
  });

  test('a missing file', async () => {
    const storage = Object.assign(new S3Storage(s3Options()), { alias: 'default' });
    await rejectsWith(storage.open('missing/file.txt'), (error) => {
      assert.equal(error.message, "S3 storage 'default': open of 'missing/file.txt' failed: the file does not exist (NoSuchKey)");
      assert.equal(error.code, 'ENOENT');
    });
    await rejectsWith(storage.size('missing/file.txt'), (error) => assert.equal(error.code, 'ENOENT'));
  });

  // No wall-clock bound (the machine's load decides it): a retry loop or a hang fails by the test's timeout.
  test('an unreachable endpoint fails with a clear error, without retrying (maxAttempts: 1)', { timeout: 30_000 }, async () => {
    const port = await closedPort();
    const storage = Object.assign(
      new S3Storage({ bucket: 'b', endpoint: `http://127.0.0.1:${port}`, ...S3RVER_CREDENTIALS, maxAttempts: 1, connectTimeout: 1000 }),
      { alias: 'default' },
    );
    await rejectsWith(storage.save('x.png', new ContentFile('x')), (error) => {
      assert.equal(
        error.message,
        `S3 storage 'default': save of 'x.png' failed: nothing answers at http://127.0.0.1:${port}: is the server running, and is the endpoint right? (ECONNREFUSED)`,
      );
    });
  });
});
