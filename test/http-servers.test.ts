// One HTTP suite, four servers: `filefield serve` and Express 5, Fastify 5 and Hono apps that mount
// filefield/http's handlers. Real servers on free ports of 127.0.0.1, real files in a temporary project.
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { ContentFile, storages } from '../src/index.ts';
import { signUrl } from '../src/storage/signing.ts';
import {
  Document, Profile, RecordingStorage, createMediaProject, filesUnder, fixture, rawGet, upload, type MediaProject,
} from './support/serveProject.ts';
import { SERVER_KINDS, startApp, type RunningApp } from './support/webApps.ts';

const UPLOAD_LIMIT = 256 * 1024;
const bytesOf = (name: string): Uint8Array<ArrayBuffer> => new Uint8Array(readFileSync(fixture(name)));
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

let project: MediaProject;
let imageUrl: string;
const imageBytes = bytesOf('image.png');

before(async () => {
  project = await createMediaProject({ FILE_UPLOAD_MAX_SIZE: UPLOAD_LIMIT });
  const profile = new Profile({ name: 'Ada' });
  await profile.picture.save('ada.png', new ContentFile(imageBytes));
  imageUrl = profile.picture.url;
  symlinkSync('loop', join(project.mediaRoot, 'loop')); // a link to itself
});

after(() => {
  project.remove();
});

/** The media files and rows now, to compare after a refused upload. */
async function snapshot(): Promise<{ files: string[]; profiles: number; documents: number }> {
  return { files: filesUnder(project.mediaRoot), profiles: await Profile.objects.count(), documents: await Document.objects.count() };
}

for (const kind of SERVER_KINDS) {
  describe(kind, () => {
    let app: RunningApp;
    before(async () => {
      app = await startApp(kind);
    });
    after(async () => {
      await app.close();
    });

    async function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
      return fetch(`${app.origin}${path}`, { headers, redirect: 'manual' });
    }

    describe('downloads', () => {
      test('a stored image is served whole, inline, with its recorded type and the protective headers', async () => {
        const response = await get(imageUrl);
        assert.equal(response.status, 200);
        assert.equal(response.headers.get('content-type'), 'image/png');
        assert.match(response.headers.get('content-disposition')!, /^inline; /);
        assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
        assert.equal(response.headers.get('content-security-policy'), "default-src 'none'; sandbox");
        assert.equal(response.headers.get('accept-ranges'), 'bytes');
        assert.equal(Number(response.headers.get('content-length')), imageBytes.byteLength);
        assert.equal(sha256(new Uint8Array(await response.arrayBuffer())), sha256(imageBytes));
      });

      test('HEAD gets the headers of the GET and no body', async () => {
        const response = await fetch(`${app.origin}${imageUrl}`, { method: 'HEAD' });
        assert.equal(response.status, 200);
        assert.equal(response.headers.get('content-type'), 'image/png');
        assert.equal(Number(response.headers.get('content-length')), imageBytes.byteLength);
        assert.match(response.headers.get('etag')!, /^"[^"]+"$/);
        assert.equal((await response.arrayBuffer()).byteLength, 0);
      });

      test('Range: the first ten bytes', async () => {
        const response = await get(imageUrl, { range: 'bytes=0-9' });
        assert.equal(response.status, 206);
        assert.equal(response.headers.get('content-range'), `bytes 0-9/${imageBytes.byteLength}`);
        assert.equal(response.headers.get('content-length'), '10');
        assert.deepEqual(new Uint8Array(await response.arrayBuffer()), imageBytes.subarray(0, 10));
      });

      test('Range: a suffix (the last 16 bytes) and an open end', async () => {
        const size = imageBytes.byteLength;
        const suffix = await get(imageUrl, { range: 'bytes=-16' });
        assert.equal(suffix.status, 206);
        assert.equal(suffix.headers.get('content-range'), `bytes ${size - 16}-${size - 1}/${size}`);
        assert.deepEqual(new Uint8Array(await suffix.arrayBuffer()), imageBytes.subarray(size - 16));
        const openEnded = await get(imageUrl, { range: `bytes=${size - 3}-` });
        assert.equal(openEnded.status, 206);
        assert.deepEqual(new Uint8Array(await openEnded.arrayBuffer()), imageBytes.subarray(size - 3));
      });

      test('Range: unsatisfiable gets 416 with the size; several ranges get the whole file', async () => {
        const size = imageBytes.byteLength;
        const beyond = await get(imageUrl, { range: `bytes=${size}-` });
        assert.equal(beyond.status, 416);
        assert.equal(beyond.headers.get('content-range'), `bytes */${size}`);
        await beyond.arrayBuffer();
        const several = await get(imageUrl, { range: 'bytes=0-1,4-5' });
        assert.equal(several.status, 200);
        assert.equal((await several.arrayBuffer()).byteLength, size);
      });

      test('If-None-Match with the ETag gets 304, another tag gets the file', async () => {
        const first = await get(imageUrl);
        await first.arrayBuffer();
        const etag = first.headers.get('etag')!;
        assert.match(etag, /^"[^"]+"$/);
        const cached = await get(imageUrl, { 'if-none-match': etag });
        assert.equal(cached.status, 304);
        assert.equal(cached.headers.get('etag'), etag);
        assert.equal((await cached.arrayBuffer()).byteLength, 0);
        const changed = await get(imageUrl, { 'if-none-match': '"something-else"' });
        assert.equal(changed.status, 200);
        await changed.arrayBuffer();
      });

      test('If-Modified-Since at or after Last-Modified gets 304, an earlier date gets the file', async () => {
        const first = await get(imageUrl);
        await first.arrayBuffer();
        const lastModified = first.headers.get('last-modified')!;
        const cached = await get(imageUrl, { 'if-modified-since': lastModified });
        assert.equal(cached.status, 304);
        await cached.arrayBuffer();
        const earlier = new Date(Date.parse(lastModified) - 60_000).toUTCString();
        const stale = await get(imageUrl, { 'if-modified-since': earlier });
        assert.equal(stale.status, 200);
        await stale.arrayBuffer();
      });

      test('a missing file is a 404', async () => {
        const response = await get('/media/profile_pics/nothing-here.png');
        assert.equal(response.status, 404);
        await response.arrayBuffer();
      });

      test('a 256-character path segment (ENAMETOOLONG) and a symlink loop get 404, never a redirect to themselves', async () => {
        for (const path of [`/media/${'a'.repeat(256)}.png`, `/media/dir/${'b'.repeat(300)}/x.txt`, '/media/loop/x.txt', '/media/loop']) {
          const response = await get(path);
          assert.equal(response.status, 404, `${path}: ${response.status} ${response.headers.get('location') ?? ''}`);
          await response.arrayBuffer();
        }
      });

      test('object headers given at save time are sent (Cache-Control, an attachment disposition)', async () => {
        const storage = storages.get('default');
        const name = await storage.save('kept-headers/report.csv', new ContentFile('a,b\n'), {
          contentType: 'text/csv', cacheControl: 'public, max-age=600', contentDisposition: 'attachment; filename="report.csv"',
        });
        const response = await get(`/media/${name}`);
        assert.equal(response.status, 200);
        assert.equal(response.headers.get('cache-control'), 'public, max-age=600');
        assert.equal(response.headers.get('content-disposition'), 'attachment; filename="report.csv"');
        assert.match(response.headers.get('content-type')!, /^text\/csv/);
        await response.arrayBuffer();
      });

      test('a hundred concurrent downloads of one file all get the right bytes', async () => {
        // Larger than the upload limit, so put in the media folder directly: serving does not care how it got there.
        const content = randomBytes(1024 * 1024 + 7);
        mkdirSync(join(project.mediaRoot, 'big'), { recursive: true });
        writeFileSync(join(project.mediaRoot, 'big', 'random.bin'), content);
        const url = storages.get('default').url('big/random.bin');
        const expected = sha256(content);
        const digests = await Promise.all(Array.from({ length: 100 }, async () => {
          const response = await get(url);
          assert.equal(response.status, 200);
          return sha256(new Uint8Array(await response.arrayBuffer()));
        }));
        assert.equal(digests.length, 100);
        for (const digest of digests) assert.equal(digest, expected);
      });
    });

    describe('traversal', () => {
      beforeEach(() => {
        writeFileSync(join(project.dir, 'secret.txt'), 'not for the web\n');
        RecordingStorage.touched.length = 0;
      });

      const attempts: [string, string][] = [
        ['../', '/media/../secret.txt'],
        ['../ deeper', '/media/profile_pics/../../secret.txt'],
        ['%2e%2e', '/media/%2e%2e/secret.txt'],
        ['%2E%2E mixed', '/media/%2E%2e/secret.txt'],
        ['%2f', '/media/..%2fsecret.txt'],
        ['%2f in a name', '/media/profile_pics%2f..%2f..%2fsecret.txt'],
        ['backslash', '/media/..\\secret.txt'],
        ['%5c', '/media/..%5csecret.txt'],
        ['NUL', '/media/secret.txt%00.png'],
        ['absolute', '/media//etc/passwd'],
        ['absolute, encoded', `/media/%2fetc%2fpasswd`],
        ['absolute, in the project', `/media/${encodeURIComponent(join('x', 'secret.txt'))}`],
        ['malformed escape', '/media/%zz/secret.txt'],
      ];
      for (const [label, target] of attempts) {
        test(`${label}: 404 without reaching the storage`, async () => {
          const response = await rawGet(app.origin, target);
          // A framework's router may refuse a malformed target itself, before any handler: 400 is as good.
          const refusals = app.kind === 'filefield serve' ? [404] : [400, 404];
          assert.ok(refusals.includes(response.status), `${target} → ${response.status}`);
          assert.doesNotMatch(response.body.toString(), /not for the web|root:/);
          assert.deepEqual(RecordingStorage.touched, [], `the storage was asked about ${RecordingStorage.touched.join(', ')}`);
        });
      }
    });

    describe('types that must not render', () => {
      test('a text file is an attachment, with nosniff and the sandbox policy', async () => {
        const response = await upload(app, 'Document', { title: 'notes', attachment: { bytes: bytesOf('notes.txt'), filename: 'notes.txt' } });
        assert.equal(response.status, app.acceptedStatus);
        const document = (await Document.objects.last())!;
        const served = await get(document.attachment.url);
        assert.equal(served.status, 200);
        assert.equal(served.headers.get('content-type'), 'text/plain; charset=utf-8');
        assert.match(served.headers.get('content-disposition')!, /^attachment; filename="notes(_[A-Za-z0-9]{7})?\.txt"/);
        assert.equal(served.headers.get('x-content-type-options'), 'nosniff');
        assert.equal(served.headers.get('content-security-policy'), "default-src 'none'; sandbox");
        assert.equal(await served.text(), readFileSync(fixture('notes.txt'), 'utf8'));
      });

      test('an HTML page stored through a FileField is an attachment of a type that never renders as HTML', async () => {
        const page = new TextEncoder().encode('<!doctype html><html><body><script>alert(document.cookie)</script></body></html>');
        const response = await upload(app, 'Document', { title: 'page', attachment: { bytes: page, filename: 'page.html' } });
        assert.equal(response.status, app.acceptedStatus);
        const document = (await Document.objects.last())!;
        assert.match(document.attachment.name, /^documents\/page.*\.html$/);
        const served = await get(document.attachment.url);
        assert.equal(served.status, 200);
        const type = served.headers.get('content-type')!;
        assert.doesNotMatch(type, /html|xml|svg|javascript/i);
        assert.match(served.headers.get('content-disposition')!, /^attachment; /);
        assert.equal(served.headers.get('x-content-type-options'), 'nosniff');
        await served.arrayBuffer();
      });

      test('an SVG put in the media folder by hand is an attachment too', async () => {
        const name = await storages.get('default').save('drawings/script.svg', new ContentFile(bytesOf('script.svg')));
        const served = await get(storages.get('default').url(name));
        assert.equal(served.status, 200);
        assert.doesNotMatch(served.headers.get('content-type')!, /svg|xml|html/i);
        assert.match(served.headers.get('content-disposition')!, /^attachment; /);
        await served.arrayBuffer();
      });
    });

    describe('uploads', () => {
      test('an upload over FILE_UPLOAD_MAX_SIZE gets 413 and stores nothing (no file, no row)', async () => {
        const before = await snapshot();
        const tooBig = new Uint8Array(randomBytes(UPLOAD_LIMIT + 50_000));
        const response = await upload(app, 'Document', { title: 'big', attachment: { bytes: tooBig, filename: 'big.bin' } });
        assert.equal(response.status, 413);
        const page = await response.text();
        assert.match(page, /The file is too large; the limit is 256 KiB\./);
        assert.deepEqual(await snapshot(), before);
      });

      test('an over-size image (a real PNG header followed by padding) gets 413 and stores nothing', async () => {
        const before = await snapshot();
        const padded = new Uint8Array(UPLOAD_LIMIT + 10);
        padded.set(imageBytes);
        const response = await upload(app, 'Profile', { name: 'huge', picture: { bytes: padded, filename: 'huge.png' } });
        assert.equal(response.status, 413);
        await response.text();
        assert.deepEqual(await snapshot(), before);
      });

      test('a body without Content-Length that goes on past every limit is cut off with 413, storing nothing', async () => {
        const before = await snapshot();
        const boundary = 'filefield-test-boundary';
        const { hostname, port } = new URL(app.origin);
        // The server answers and closes while the client is still sending: the client's next write may meet the
        // closed connection (EPIPE, ECONNRESET) before or after its 413 arrives, and a reset can even discard
        // the answer unread. Either way the server stopped the upload; what must hold is that nothing was kept.
        const status = await new Promise<number | 'reset'>((resolve, reject) => {
          const outgoing = request({
            host: hostname, port, path: '/upload/Document', method: 'POST',
            headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'transfer-encoding': 'chunked', origin: app.origin },
          }, (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
          });
          outgoing.on('error', (error: NodeJS.ErrnoException) => {
            if (error.code === 'EPIPE' || error.code === 'ECONNRESET') resolve('reset');
            else reject(error);
          });
          outgoing.write(`--${boundary}\r\nContent-Disposition: form-data; name="attachment"; filename="endless.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`);
          const piece = Buffer.alloc(64 * 1024, 0x61);
          let sent = 0;
          const pump = (): void => {
            // Stop once answered (or at 32 MiB, far past the 1.25 MiB the server allows this form).
            while (!outgoing.destroyed && outgoing.writableNeedDrain === false && sent < 32 * 1024 * 1024) {
              outgoing.write(piece);
              sent += piece.byteLength;
            }
            if (sent < 32 * 1024 * 1024 && !outgoing.destroyed) outgoing.once('drain', pump);
          };
          pump();
        });
        assert.ok(status === 413 || status === 'reset', `answered ${status}`);
        // A reset can reach the client while the server still removes what it began: give it a moment.
        for (let waited = 0; status === 'reset' && waited < 3000 && !isDeepStrictEqual(await snapshot(), before); waited += 50) await sleep(50);
        assert.deepEqual(await snapshot(), before);
      });

      test('a client that goes away in the middle of a file leaves nothing behind, and the server carries on', async () => {
        const before = await snapshot();
        const boundary = 'filefield-test-boundary';
        const { hostname, port } = new URL(app.origin);
        const outgoing = request({
          host: hostname, port, path: '/upload/Profile', method: 'POST',
          headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(200_000), origin: app.origin },
        });
        outgoing.on('error', () => undefined); // the abort below is the point
        outgoing.write(`--${boundary}\r\nContent-Disposition: form-data; name="picture"; filename="half.png"\r\nContent-Type: image/png\r\n\r\n`);
        outgoing.write(imageBytes);
        outgoing.write(Buffer.alloc(50_000));
        await new Promise((resolve) => setTimeout(resolve, 200));
        outgoing.destroy();
        // The server cleans up when it notices, however long that takes under load (the test's timeout bounds
        // it); then nothing may remain (no temporary file either).
        while (JSON.stringify(await snapshot()) !== JSON.stringify(before)) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        assert.deepEqual(await snapshot(), before);
        const still = await get(imageUrl);
        assert.equal(still.status, 200);
        await still.arrayBuffer();
      });

      test('a fake image (HTML named .png) gets 400 saying why, and nothing is stored', async () => {
        const before = await snapshot();
        const response = await upload(app, 'Profile', { name: 'Mallory', picture: { bytes: bytesOf('html-posing.png'), filename: 'html-posing.png' } });
        assert.equal(response.status, 400);
        assert.match(await response.text(), /picture: Upload a valid image\. The file you uploaded was either not an image or a corrupted image\. It is HTML, not an image\./);
        assert.deepEqual(await snapshot(), before);
      });

      test('two files for one field get 400 and store nothing', async () => {
        const before = await snapshot();
        const form = new FormData();
        form.append('name', 'twice');
        form.append('picture', new Blob([imageBytes]), 'one.png');
        form.append('picture', new Blob([imageBytes]), 'two.png');
        const response = await fetch(`${app.origin}/upload/Profile`, { method: 'POST', body: form, redirect: 'manual', headers: { origin: app.origin } });
        assert.equal(response.status, 400);
        await response.text();
        assert.deepEqual(await snapshot(), before);
      });

      test('a form with more parts than the model has fields gets 400 and stores nothing', async () => {
        const before = await snapshot();
        const form = new FormData();
        for (let index = 0; index < 50; index++) form.append('name', `again ${index}`);
        form.append('picture', new Blob([imageBytes]), 'many.png');
        const response = await fetch(`${app.origin}/upload/Profile`, { method: 'POST', body: form, redirect: 'manual', headers: { origin: app.origin } });
        assert.equal(response.status, 400);
        assert.match(await response.text(), /The form has more (fields|parts) than the model/);
        assert.deepEqual(await snapshot(), before);
      });

      test('a field the model does not have gets 400 and stores nothing', async () => {
        const before = await snapshot();
        const response = await upload(app, 'Profile', { name: 'x', admin: 'yes', picture: { bytes: imageBytes, filename: 'x.png' } });
        assert.equal(response.status, 400);
        assert.match(await response.text(), /Profile has no field (&#39;|')admin(&#39;|')/);
        assert.deepEqual(await snapshot(), before);
      });

      test('no file chosen for a required image field gets 400', async () => {
        const before = await snapshot();
        const response = await upload(app, 'Profile', { name: 'nobody', picture: { bytes: new Uint8Array(0), filename: '' } });
        assert.equal(response.status, 400);
        assert.match(await response.text(), /picture: This field cannot be blank\./);
        assert.deepEqual(await snapshot(), before);
      });

      test('a file name with folders keeps only its last part', async () => {
        const response = await upload(app, 'Document', { title: 'sneaky', attachment: { bytes: bytesOf('notes.txt'), filename: '../../../etc/notes.txt' } });
        assert.equal(response.status, app.acceptedStatus);
        const document = (await Document.objects.last())!;
        assert.match(document.attachment.name, /^documents\/notes(_[A-Za-z0-9]{7})?\.txt$/);
      });
    });

    describe('direct uploads', () => {
      test('a PUT to a signed upload URL of the local storage stores the bytes, which are then served', async () => {
        const storage = storages.get('default');
        const upload = await storage.signedUploadUrl(`direct/${app.kind.replace(/\W+/g, '-')}.png`, { expiresIn: 60, contentType: 'image/png', maxSize: 100_000 });
        const response = await fetch(`${app.origin}${upload.url}`, { method: upload.method, headers: upload.headers, body: imageBytes });
        assert.equal(response.status, 201, await response.clone().text());
        const { name } = await response.json() as { name: string };
        const served = await get(storage.url(name));
        assert.equal(served.headers.get('content-type'), 'image/png');
        assert.deepEqual(new Uint8Array(await served.arrayBuffer()), imageBytes);
      });

      test('a PUT without a valid signature is refused with 403 and stores nothing', async () => {
        const before = await snapshot();
        const response = await fetch(`${app.origin}/media/direct/unsigned.png`, { method: 'PUT', headers: { 'content-type': 'image/png' }, body: imageBytes });
        assert.equal(response.status, 403);
        await response.text();
        assert.deepEqual(await snapshot(), before);
      });
    });

    describe('signed URLs', () => {
      test('a valid signed URL is served', async () => {
        const profile = (await Profile.objects.first())!;
        const signed = await profile.picture.signedUrl({ expiresIn: 60 });
        assert.match(signed, /[?&]signature=/);
        const response = await get(signed);
        assert.equal(response.status, 200);
        assert.equal(sha256(new Uint8Array(await response.arrayBuffer())), sha256(imageBytes));
      });

      test('an expired signed URL is refused with 403', async () => {
        const profile = (await Profile.objects.first())!;
        const expired = signUrl(profile.picture.url, 60, Date.now() - 3600_000);
        const response = await get(expired);
        assert.equal(response.status, 403);
        assert.match(await response.text(), /expired/);
      });

      test('a tampered signed URL (another expiry, another file, a changed signature) is refused with 403', async () => {
        const [first] = await Profile.objects.all();
        const signed = await first!.picture.signedUrl({ expiresIn: 60 });
        const url = new URL(signed, app.origin);
        const later = new URL(url);
        later.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 3600));
        const otherFile = new URL(url);
        otherFile.pathname = '/media/big/random.bin';
        const changedSignature = new URL(url);
        const signature = url.searchParams.get('signature')!;
        changedSignature.searchParams.set('signature', (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1));
        for (const tampered of [later, otherFile, changedSignature]) {
          const response = await get(tampered.pathname + tampered.search);
          assert.equal(response.status, 403, tampered.href);
          await response.text();
        }
      });
    });

  });
}
