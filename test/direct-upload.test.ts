// Direct uploads: storage.signedUploadUrl() for the local disk (a signed PUT that `filefield serve` accepts),
// S3 (a presigned POST to s3rver, and its policy read as a document) and Azure (a SAS PUT to Azurite), then
// FieldFile.attachUploaded(), which checks the bytes as save() would.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContentFile, FileField, ImageField, Model, ValidationError, configure, storages, type FieldFile, type ImageFieldFile } from '../src/index.ts';
import { AzureStorage } from '../src/storage/azure/index.ts';
import { readStored } from './support/conformance.ts';
import { startAzurite, type AzuriteServer } from './support/azurite.ts';
import { imageModel, s3StorageOn } from './support/directUpload.ts';
import { S3RVER_CREDENTIALS, startS3rver, type RunningS3rver } from './support/s3rver.ts';
import { fixture, startServeProject, type ServeProject } from './support/serveProject.ts';

const scratchRoot = mkdtempSync(join(tmpdir(), 'filefield-direct-upload-'));
let scratchCount = 0;
/** A fresh BASE_DIR (its db.json and media) for a suite that has no project of its own. */
const scratch = () => mkdtempSync(join(scratchRoot, `${scratchCount++}-`));
after(async () => {
  await configure({});
  rmSync(scratchRoot, { recursive: true, force: true });
});

const png = new Uint8Array(readFileSync(fixture('image.png')));

/** Sends a file the way a browser follows a signed upload: a form of `fields` then `file` for POST, raw bytes otherwise. */
async function sendUpload(upload: { url: string; method: string; fields: Record<string, string>; headers: Record<string, string> }, bytes: Uint8Array<ArrayBuffer>, type = 'application/octet-stream'): Promise<Response> {
  if (upload.method === 'POST') {
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
    form.append('file', new Blob([bytes], { type }));
    return fetch(upload.url, { method: 'POST', body: form });
  }
  return fetch(upload.url, { method: upload.method, headers: upload.headers, body: bytes });
}

describe('the local disk, through filefield serve', () => {
  let project: ServeProject;
  before(async () => {
    project = await startServeProject({ FILE_UPLOAD_MAX_SIZE: 256 * 1024 });
  });
  after(async () => {
    await project.close();
  });

  class Picture extends Model {
    static override table = 'Picture';
    static override fields = { image: new ImageField({ uploadTo: 'pictures' }), };
    declare image: ImageFieldFile;
  }

  test('a signed PUT stores the bytes; attachUploaded() checks them and saves the row', async () => {
    const storage = storages.get('default');
    const upload = await storage.signedUploadUrl('pictures/direct.png', { expiresIn: 60, contentType: 'image/png', maxSize: 100_000 });
    assert.equal(upload.method, 'PUT');
    assert.equal(upload.name, 'pictures/direct.png');
    const response = await sendUpload({ ...upload, url: project.origin + upload.url }, png);
    assert.equal(response.status, 201, await response.clone().text());
    const { name } = await response.json() as { name: string };
    assert.equal(name, 'pictures/direct.png');
    assert.deepEqual(readFileSync(join(project.mediaRoot, name)), Buffer.from(png));
    assert.equal((await storage.headers(name)).contentType, 'image/png');

    const picture = new Picture();
    await picture.image.attachUploaded(name);
    const row = await Picture.objects.get(picture.id!);
    assert.equal(row.image.name, name);
    assert.equal(row.image.width, 64);
    assert.equal(row.image.size, png.byteLength);
    // A name a row already refers to cannot be adopted (nor deleted) by another upload.
    await assert.rejects(new Picture().image.attachUploaded(name), { name: 'ValidationError', message: /already refers to/ });
    assert.ok(existsSync(join(project.mediaRoot, name)));
  });

  test('a tampered, expired, wrongly typed or oversized upload is refused and stores nothing', async () => {
    const storage = storages.get('default');
    const upload = await storage.signedUploadUrl('pictures/refused.png', { expiresIn: 60, contentType: 'image/png', maxSize: 1000 });
    const url = project.origin + upload.url;
    const tampered = await sendUpload({ ...upload, url: url.replace('upload-max=1000', 'upload-max=999999') }, png);
    assert.equal(tampered.status, 403);
    const wrongType = await fetch(url, { method: 'PUT', headers: { 'Content-Type': 'text/html' }, body: '<script>' });
    assert.equal(wrongType.status, 403);
    assert.match((await wrongType.json() as { error: string }).error, /for image\/png content, not text\/html/);
    const oversized = await sendUpload({ ...upload, url }, new Uint8Array(5000));
    assert.equal(oversized.status, 413);
    const expired = await storage.signedUploadUrl('pictures/late.png', { expiresIn: 0.001 });
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the expiry is whole seconds
    assert.equal((await sendUpload({ ...expired, url: project.origin + expired.url }, png)).status, 403);
    for (const name of ['refused.png', 'late.png']) assert.equal(existsSync(join(project.mediaRoot, 'pictures', name)), false, name);
  });

  test('an image field refuses an upload that is no image, and deletes it', async () => {
    const storage = storages.get('default');
    const upload = await storage.signedUploadUrl('pictures/fake.png', { expiresIn: 60 });
    const response = await sendUpload({ ...upload, url: project.origin + upload.url }, new TextEncoder().encode('<html>not an image</html>'));
    assert.equal(response.status, 201);
    const { name } = await response.json() as { name: string };
    await assert.rejects(new Picture().image.attachUploaded(name), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.match(error.message, /^image: Upload a valid image\./);
      return true;
    });
    assert.equal(existsSync(join(project.mediaRoot, name)), false, 'the refused upload is deleted');
    assert.equal(await Picture.objects.count(), 1);
  });
});

describe('S3: a presigned POST', () => {
  let server: RunningS3rver;
  before(async () => {
    server = await startS3rver();
    await configure({ BASE_DIR: scratch(), SECRET_KEY: 'direct-upload-secret-key-0123' });
  });
  after(async () => {
    await server.stop();
  });

  test('the policy limits the key, the size and the type, and expires', async () => {
    const storage = s3StorageOn(server, 'media');
    const before = Date.now();
    const upload = await storage.signedUploadUrl('uploads/a.png', { expiresIn: 300, contentType: 'image/png', maxSize: 5000 });
    assert.equal(upload.method, 'POST');
    assert.equal(upload.url, `${server.endpoint}/${server.bucket}/`);
    const policy = JSON.parse(Buffer.from(upload.fields.policy!, 'base64').toString('utf8')) as { expiration: string; conditions: unknown[] };
    const expiresAt = Date.parse(policy.expiration);
    assert.ok(expiresAt >= before + 299_000 && expiresAt <= Date.now() + 300_000, policy.expiration);
    assert.deepEqual(policy.conditions, [
      { bucket: server.bucket },
      { key: 'media/uploads/a.png' },
      { success_action_status: '201' },
      { 'Content-Type': 'image/png' },
      { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' },
      { 'x-amz-credential': upload.fields['x-amz-credential'] },
      { 'x-amz-date': upload.fields['x-amz-date'] },
      ['content-length-range', 0, 5000],
    ]);
    // The signature is SigV4's over the base64 policy, with the day's signing key.
    const day = upload.fields['x-amz-date']!.slice(0, 8);
    let key = createHmac('sha256', `AWS4${S3RVER_CREDENTIALS.secretAccessKey}`).update(day).digest();
    for (const part of ['us-east-1', 's3', 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
    assert.equal(upload.fields['x-amz-signature'], createHmac('sha256', key).update(upload.fields.policy!).digest('hex'));
  });

  test('a browser-style form upload lands in the bucket without passing through us; attachUploaded() records it', async () => {
    const storage = s3StorageOn(server, 'direct');
    const Avatar = imageModel('Avatar', storage);
    const upload = await storage.signedUploadUrl('avatars/me.png', { expiresIn: 60, contentType: 'image/png', maxSize: 100_000 });
    const response = await sendUpload(upload, png, 'image/png');
    assert.ok(response.status >= 200 && response.status < 300, `${response.status} ${await response.text()}`);
    assert.deepEqual(await readStored(storage, upload.name), Buffer.from(png));
    const avatar = new Avatar();
    await avatar.image.attachUploaded(upload.name);
    assert.equal((await Avatar.objects.get(avatar.id!)).image.height, 48);

    const fake = await storage.signedUploadUrl('avatars/fake.png', { expiresIn: 60 });
    await sendUpload(fake, new TextEncoder().encode('GIF89a but not really'));
    await assert.rejects(new Avatar().image.attachUploaded(fake.name), ValidationError);
    assert.equal(await storage.exists(fake.name), false, 'the refused upload is deleted');
  });
});

describe('Azure: a SAS PUT', () => {
  let azurite: AzuriteServer;
  before(async () => {
    azurite = await startAzurite();
    await configure({ BASE_DIR: scratch(), SECRET_KEY: 'direct-upload-secret-key-0123' });
  });
  after(async () => {
    await azurite.stop();
  });

  test('a PUT with the SAS headers stores the blob; attachUploaded() records it', async () => {
    const storage = new AzureStorage({ connectionString: azurite.connectionString, container: 'direct' });
    const { BlobServiceClient } = await import('@azure/storage-blob');
    await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient('direct').createIfNotExists();
    class Attachment extends Model {
      static override table = 'Attachment';
      static override fields = { file: new FileField({ uploadTo: 'attachments', storage }) };
      declare file: FieldFile;
    }
    const upload = await storage.signedUploadUrl('attachments/notes.txt', { expiresIn: 60, contentType: 'text/plain' });
    assert.equal(upload.method, 'PUT');
    assert.match(upload.url, /[?&]sp=cw(&|$)/);
    const response = await sendUpload(upload, new TextEncoder().encode('uploaded straight to Azure'));
    assert.equal(response.status, 201, await response.text());
    const attachment = new Attachment();
    await attachment.file.attachUploaded(upload.name);
    assert.equal(attachment.file.size, 26);
    assert.equal((await readStored(storage, upload.name)).toString(), 'uploaded straight to Azure');
    assert.equal((await Attachment.objects.get(attachment.id!)).file.name, 'attachments/notes.txt');
    assert.equal(typeof ContentFile, 'function');
  });
});
