/**
 * AzureStorage against a real Blob service: azurite, started by these tests on 127.0.0.1.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  BlobSASPermissions, BlobServiceClient, StorageSharedKeyCredential, generateBlobSASQueryParameters, type ContainerClient,
} from '@azure/storage-blob';
import { configure, ContentFile, File, FileTooLarge, ImproperlyConfigured } from '../src/index.ts';
import { AzureStorage, StorageOperationError, type AzureStorageOptions } from '../src/storage/azure/index.ts';
import { blobSasQuery, SAS_VERSION } from '../src/storage/azure/sas.ts';
import { failingStream, randomFolder, readStored, storageConformance } from './support/conformance.ts';
import { startAzurite, type AzuriteServer } from './support/azurite.ts';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const settingsRoot = mkdtempSync(join(tmpdir(), 'filefield-azure-settings-'));
const MiB = 1024 * 1024;

let serverPromise: Promise<AzuriteServer> | undefined;
/** One azurite for the whole file, started by whichever suite needs it first. */
function server(): Promise<AzuriteServer> {
  serverPromise ??= startAzurite();
  return serverPromise;
}

let containerCount = 0;
/** A new, empty container (private unless `access` says otherwise). */
async function freshContainer(access?: 'blob'): Promise<{ name: string; client: ContainerClient }> {
  const { connectionString } = await server();
  const name = `test-${process.pid}-${++containerCount}-${randomFolder(6)}`;
  const client = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(name);
  await client.create(access ? { access } : {});
  return { name, client };
}

async function storageFor(options: Partial<AzureStorageOptions> = {}, access?: 'blob') {
  const { connectionString } = await server();
  const { name, client } = await freshContainer(access);
  const storage = new AzureStorage({ connectionString, container: name, ...options });
  storage.alias = 'default';
  return { storage, container: client, containerName: name };
}

async function blobNamesIn(container: ContainerClient): Promise<string[]> {
  const names: string[] = [];
  for await (const blob of container.listBlobsFlat()) names.push(blob.name);
  return names;
}

function assertOperationError(error: unknown, operation: string, reasonPattern: RegExp): true {
  assert.ok(error instanceof StorageOperationError, `expected a StorageOperationError, got ${String(error)}`);
  assert.match(error.message, new RegExp(`^AzureStorage 'default': ${operation} `));
  assert.match(error.message, reasonPattern);
  assert.equal(error.alias, 'default');
  assert.equal(error.operation, operation);
  assert.ok(error.cause !== undefined, 'the SDK error is kept as the cause');
  return true;
}

before(async () => {
  await configure({ BASE_DIR: settingsRoot, SECRET_KEY: 'azure-test-secret-key-0123456789' });
});

after(async () => {
  await configure({});
  if (serverPromise) await (await serverPromise).stop();
  rmSync(settingsRoot, { recursive: true, force: true });
});

storageConformance('AzureStorage (azurite)', async () => ({ storage: (await storageFor()).storage }), { hasPath: false });

storageConformance(
  'AzureStorage with a location prefix (azurite)',
  async () => ({ storage: (await storageFor({ location: 'media/uploads' })).storage }),
  { hasPath: false, largeFileMiB: 8 },
);

describe('AzureStorage', () => {
  test('importing the module and url() need no SDK; the SDK loads on first use', async () => {
    // A resolve hook that makes @azure/storage-blob unloadable: importing and url() must still work.
    const script = `
      import { register } from 'node:module';
      register('data:text/javascript,' + encodeURIComponent(
        'export async function resolve(specifier, context, next) {'
        + ' if (specifier === "@azure/storage-blob") throw new Error("SDK blocked by the test");'
        + ' return next(specifier, context); }'));
      const { AzureStorage } = await import('./src/storage/azure/index.ts');
      const storage = new AzureStorage({ accountName: 'acct', accountKey: 'a2V5', container: 'media', expirationSecs: 60 });
      console.log(storage.url('a b.txt'));
      try { await storage.exists('a.txt'); console.log('loaded'); } catch (error) { console.log(error.message); }
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: projectRoot,
    });
    const [url, failure] = stdout.trim().split('\n');
    assert.match(url!, /^https:\/\/acct\.blob\.core\.windows\.net\/media\/a%20b\.txt\?sv=.*&sig=/);
    assert.match(failure!, /^AzureStorage: exists of 'a\.txt' failed: the Azure SDK \(@azure\/storage-blob\) could not be loaded: .*SDK blocked by the test/);
  });

  test("the SAS signature equals the SDK's for the same blob and expiry", async () => {
    const { accountName, accountKey } = await server();
    const expiresOn = new Date('2031-02-03T04:05:06Z');
    for (const blobName of ['plain.txt', 'folder/with space/é ü.png', "odd!'()*;=+.bin"]) {
      const ours = new URLSearchParams(blobSasQuery({ accountName, accountKey, container: 'media', blobName, permissions: 'r', expiresOn }));
      const sdk = new URLSearchParams(generateBlobSASQueryParameters(
        { containerName: 'media', blobName, permissions: BlobSASPermissions.parse('r'), expiresOn, version: SAS_VERSION },
        new StorageSharedKeyCredential(accountName, accountKey),
      ).toString());
      assert.deepEqual(Object.fromEntries(ours), Object.fromEntries(sdk), blobName);
    }
  });

  test('with expirationSecs, url() is a SAS URL that works, and only for reading that blob until it expires', async () => {
    const { storage, containerName } = await storageFor({ expirationSecs: 120 });
    const name = await storage.save('private/notes é.txt', new ContentFile('secret notes'));
    const url = storage.url(name);
    assert.match(url, new RegExp(`/${containerName}/private/notes%20%C3%A9\\.txt\\?sv=`));
    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'secret notes');
    assert.equal(response.headers.get('content-type'), 'text/plain');

    const tampered = new URL(url);
    const signature = tampered.searchParams.get('sig')!;
    tampered.searchParams.set('sig', (signature.startsWith('A') ? 'B' : 'A') + signature.slice(1));
    assert.equal((await fetch(tampered)).status, 403);
    const otherBlob = url.replace('notes%20%C3%A9.txt', 'other.txt');
    assert.equal((await fetch(otherBlob)).status, 403);
    const write = await fetch(url, { method: 'PUT', body: 'overwritten', headers: { 'x-ms-blob-type': 'BlockBlob' } });
    assert.equal(write.status, 403);

    const { accountName, accountKey } = await server();
    const expired = new URL(url);
    expired.search = blobSasQuery({
      accountName, accountKey, container: containerName, blobName: name, permissions: 'r', expiresOn: new Date(Date.now() - 60_000),
    });
    assert.equal((await fetch(expired)).status, 403);
    assert.equal((await readStored(storage, name)).toString(), 'secret notes');
  });

  test('without expirationSecs, url() is the plain blob URL: refused on a private container, served by a public one', async () => {
    const { storage: privateStorage } = await storageFor();
    const privateName = await privateStorage.save('a.txt', new ContentFile('private'));
    const privateUrl = privateStorage.url(privateName);
    assert.ok(!privateUrl.includes('?'), privateUrl);
    assert.ok(!(await fetch(privateUrl)).ok);

    const { storage: publicStorage } = await storageFor({}, 'blob');
    const publicName = await publicStorage.save('b.txt', new ContentFile('public'));
    const response = await fetch(publicStorage.url(publicName));
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'public');
  });

  test('signedUrl() signs for the time asked, whatever expirationSecs says', async () => {
    const { storage } = await storageFor();
    const name = await storage.save('signed.bin', new ContentFile(new Uint8Array([1, 2, 3])));
    const url = await storage.signedUrl(name, { expiresIn: 30 });
    const expiry = new Date(new URL(url).searchParams.get('se')!);
    assert.ok(Math.abs(expiry.getTime() - (Date.now() + 30_000)) < 5_000, expiry.toISOString());
    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.deepEqual(new Uint8Array(await response.arrayBuffer()), new Uint8Array([1, 2, 3]));
    await assert.rejects(storage.signedUrl(name, { expiresIn: 0 }), RangeError);
  });

  test('customDomain: url() is on that host (signed or public) and the host serves it', async () => {
    const { port } = await server();
    const customDomain = `localhost:${port}`;
    const { storage } = await storageFor({ customDomain, expirationSecs: 60 });
    const name = await storage.save('cdn/logo.txt', new ContentFile('via the custom domain'));
    const signed = storage.url(name);
    assert.equal(new URL(signed).host, customDomain);
    assert.equal(await (await fetch(signed)).text(), 'via the custom domain');

    const { storage: publicStorage } = await storageFor({ customDomain }, 'blob');
    const publicName = await publicStorage.save('cdn/public.txt', new ContentFile('public on the custom domain'));
    const plain = publicStorage.url(publicName);
    assert.ok(plain.startsWith(`http://${customDomain}/`), plain);
    assert.equal(await (await fetch(plain)).text(), 'public on the custom domain');
  });

  test('cacheControl and the sniffed content type are set on new blobs', async () => {
    const { storage } = await storageFor({ cacheControl: 'public, max-age=86400', expirationSecs: 60 });
    const name = await storage.save('picture.bin', new File(openSync(join(projectRoot, 'fixtures/image.png'), 'r')));
    const response = await fetch(storage.url(name));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'public, max-age=86400');
    assert.equal(response.headers.get('content-type'), 'image/png');
  });

  test('overwriteFiles: true replaces a blob of the same name; the default keeps both', async () => {
    const { storage } = await storageFor({ overwriteFiles: true });
    assert.equal(await storage.save('same.txt', new ContentFile('first')), 'same.txt');
    assert.equal(await storage.save('same.txt', new ContentFile('second')), 'same.txt');
    assert.equal((await readStored(storage, 'same.txt')).toString(), 'second');
    assert.deepEqual(await storage.listdir(''), [[], ['same.txt']]);
    // Truncation still applies, without a random part.
    assert.equal(await storage.save('averyverylongname.txt', new ContentFile('x'), { maxLength: 10 }), 'averyv.txt');

    const { storage: keeping } = await storageFor();
    assert.equal(await keeping.save('same.txt', new ContentFile('first')), 'same.txt');
    const second = await keeping.save('same.txt', new ContentFile('second'));
    assert.match(second, /^same_[A-Za-z0-9]{7}\.txt$/);
    assert.equal((await readStored(keeping, 'same.txt')).toString(), 'first');
  });

  test('a name taken by another writer during the upload is never overwritten: the save moves to another name', async () => {
    const { storage, container } = await storageFor();
    // Content that can be read again (seekable); it lets another writer create the name before its last piece.
    let raced = false;
    class RacingContent extends ContentFile {
      override async *chunks(chunkSize?: number): AsyncGenerator<Uint8Array, void, undefined> {
        for await (const chunk of super.chunks(chunkSize)) {
          if (!raced) {
            raced = true;
            await container.getBlockBlobClient('race.txt').upload('the other writer', 16);
          }
          yield chunk;
        }
      }
    }
    const name = await storage.save('race.txt', new RacingContent('ours'));
    assert.match(name, /^race_[A-Za-z0-9]{7}\.txt$/);
    assert.equal((await readStored(storage, 'race.txt')).toString(), 'the other writer');
    assert.equal((await readStored(storage, name)).toString(), 'ours');
  });

  test('a stream that lost its name to another writer fails clearly and overwrites nothing', async () => {
    const { storage, container } = await storageFor();
    let sent = false;
    const stream = new Readable({
      async read() {
        if (sent) {
          this.push(null);
          return;
        }
        sent = true;
        await container.getBlockBlobClient('streamed.txt').upload('the other writer', 16);
        this.push(Buffer.from('ours'));
      },
    });
    await assert.rejects(storage.save('streamed.txt', new File(stream)), (error: unknown) => {
      assertOperationError(error, 'save', /another upload created this name .* cannot be read a second time/);
      assert.equal((error as StorageOperationError).code, 'EEXIST');
      return true;
    });
    assert.equal((await readStored(storage, 'streamed.txt')).toString(), 'the other writer');
    assert.deepEqual(await blobNamesIn(container), ['streamed.txt']);
  });

  test('a source that fails midway leaves no blob behind, and its own error comes through', async () => {
    const { storage, container } = await storageFor({ blockSize: 1 * MiB });
    await assert.rejects(storage.save('broken/upload.bin', new File(failingStream(5 * MiB))), /the client went away/);
    assert.equal(await storage.exists('broken/upload.bin'), false);
    assert.equal(await storage.exists('broken'), false);
    assert.deepEqual(await storage.listdir(''), [[], []]);
    assert.deepEqual(await blobNamesIn(container), []);
  });

  test('FILE_UPLOAD_MAX_SIZE stops a stream as it passes the limit, and nothing is kept', async () => {
    const { storage, container } = await storageFor({ blockSize: 1 * MiB });
    await configure({ BASE_DIR: settingsRoot, SECRET_KEY: 'azure-test-secret-key-0123456789', FILE_UPLOAD_MAX_SIZE: 3 * MiB });
    try {
      await assert.rejects(storage.save('big.bin', new File(Readable.from([Buffer.alloc(2 * MiB), Buffer.alloc(2 * MiB)]))), FileTooLarge);
    } finally {
      await configure({ BASE_DIR: settingsRoot, SECRET_KEY: 'azure-test-secret-key-0123456789' });
    }
    assert.deepEqual(await blobNamesIn(container), []);
  });

  test('open() streams the blob with its size known; a missing name is ENOENT', async () => {
    const { storage } = await storageFor();
    const name = await storage.save('sized.bin', new ContentFile(new Uint8Array(300_000).fill(9)));
    const file = await storage.open(name);
    try {
      assert.equal(file.size, 300_000);
      assert.equal(file.seekable, false);
      let total = 0;
      for await (const chunk of file.chunks()) total += chunk.byteLength;
      assert.equal(total, 300_000);
    } finally {
      await file.close();
    }
    await assert.rejects(storage.open('missing.bin'), (error: unknown) => {
      assertOperationError(error, 'open', /no such file/);
      assert.equal((error as StorageOperationError).code, 'ENOENT');
      return true;
    });
    await assert.rejects(storage.size('missing.bin'), { code: 'ENOENT' });
  });

  test('a wrong account key: errors name the alias, the operation and the cause', async () => {
    const { endpoint } = await server();
    const { containerName } = await storageFor();
    const storage = new AzureStorage({ endpoint, accountKey: Buffer.alloc(64, 1).toString('base64'), container: containerName });
    storage.alias = 'default';
    await assert.rejects(storage.save('x.txt', new ContentFile('x')), (error: unknown) => {
      assertOperationError(error, 'save', /the service rejected the credentials \(\w+, HTTP 403\): check accountKey/);
      assert.equal((error as StorageOperationError).code, 'EACCES');
      return true;
    });
    await assert.rejects(storage.listdir(''), (error: unknown) => assertOperationError(error, 'listdir', /rejected the credentials/));
  });

  test('a missing container: errors say so and name the container', async () => {
    const { connectionString } = await server();
    const storage = new AzureStorage({ connectionString, container: 'no-such-container' });
    storage.alias = 'default';
    const message = /the container 'no-such-container' does not exist at http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1 \(ContainerNotFound, HTTP 404\)/;
    await assert.rejects(storage.save('x.txt', new ContentFile('x')), (error: unknown) => assertOperationError(error, 'save', message));
    await assert.rejects(storage.exists('x.txt'), (error: unknown) => assertOperationError(error, 'exists', message));
    await assert.rejects(storage.open('x.txt'), (error: unknown) => assertOperationError(error, 'open', message));
  });

  // No wall-clock bound (the machine's load decides it): a retry loop or a hang fails by the test's timeout.
  test('an unreachable endpoint: a clear error, without retrying (maxTries: 1)', { timeout: 30_000 }, async () => {
    const { accountKey } = await server();
    const storage = new AzureStorage({ endpoint: 'http://127.0.0.1:1/devstoreaccount1', accountKey, container: 'media', maxTries: 1 });
    storage.alias = 'default';
    await assert.rejects(storage.save('x.txt', new ContentFile('x')), (error: unknown) => {
      assertOperationError(error, 'save', /cannot reach the blob service at http:\/\/127\.0\.0\.1:1\/devstoreaccount1 \(ECONNREFUSED\)/);
      assert.equal((error as StorageOperationError).code, 'ECONNREFUSED');
      return true;
    });
  });

  test('bad options are refused at construction, naming the option', () => {
    assert.throws(() => new AzureStorage({ accountName: 'a', accountKey: 'a2V5' }), (error: unknown) => {
      assert.ok(error instanceof ImproperlyConfigured);
      assert.match(error.message, /AzureStorage option 'container' is required/);
      return true;
    });
    assert.throws(() => new AzureStorage({ accountName: 'a', container: 'media' }), /'accountKey' or sasToken is required/);
    assert.throws(() => new AzureStorage({ accountName: 'a', accountKey: 'a2V5', container: 'Bad_Name' }), /not a valid container name/);
    assert.throws(() => new AzureStorage({ accountName: 'a', accountKey: 'a2V5', container: 'media', contianer: 'x' } as AzureStorageOptions), /'contianer' is not an AzureStorage option/);
    assert.throws(() => new AzureStorage({ accountName: 'a', sasToken: 'sv=x', container: 'media', expirationSecs: 60 }), /'expirationSecs' needs accountKey/);
    assert.throws(() => new AzureStorage({ accountName: 'a', accountKey: 'a2V5', container: 'media', location: '../up' }), /must not contain '\.\.'/);
  });

  test('names that climb out of the location are refused by every operation', async () => {
    const { storage } = await storageFor({ location: 'inside' });
    assert.throws(() => storage.url('../outside.txt'), /outside of the base path component/);
    await assert.rejects(storage.open('../outside.txt'), /outside of the base path component/);
    await assert.rejects(storage.delete('a/../../outside.txt'), /outside of the base path component/);
  });

  test("the article's workflow with Azure as the default storage", async () => {
    const { connectionString } = await server();
    const { name: container } = await freshContainer();
    const database = join(settingsRoot, `azure-workflow-${randomFolder()}.json`);
    await configure({
      BASE_DIR: settingsRoot,
      SECRET_KEY: 'azure-test-secret-key-0123456789',
      DATABASE: database,
      STORAGES: { default: { BACKEND: 'azure', OPTIONS: { connectionString, container, expirationSecs: 300 } } },
    });
    try {
      const { Profile } = await import('../example/models.ts');
      const profile = new Profile();
      await profile.picture.save('my-image.png', new File(openSync(join(projectRoot, 'fixtures/image.png'), 'r')));
      assert.match(profile.picture.name, /^profile_pics\/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.png$/);
      assert.throws(() => profile.picture.path, /This backend doesn't support absolute paths\./);
      const url = profile.picture.url;
      assert.ok(url.startsWith(`http://127.0.0.1:${(await server()).port}/devstoreaccount1/${container}/${profile.picture.name}?sv=`), url);
      const response = await fetch(url);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-type'), 'image/png');

      const last = await Profile.objects.last();
      assert.ok(last);
      assert.equal(last.picture.name, profile.picture.name);
      assert.ok(last.picture.url.startsWith(url.slice(0, url.indexOf('?'))), last.picture.url);
      assert.equal((await fetch(last.picture.url)).status, 200);
    } finally {
      await configure({ BASE_DIR: settingsRoot, SECRET_KEY: 'azure-test-secret-key-0123456789' });
    }
  });
});
