// filefield/http's handlers themselves, beyond what every server shares (http-servers.test.ts): mounting,
// next(), the JSON and redirect answers, streaming web Responses, the lookup by name and its index.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import express from 'express';
import { ContentFile, storages } from '../src/index.ts';
import { fetchMediaHandler, fetchUploadHandler, mediaHandler, uploadHandler } from '../src/http/index.ts';
import { Picture } from './support/process-models.ts';
import { Document, Profile, createMediaProject, fixture, type MediaProject } from './support/serveProject.ts';
import { listenOnFreePort, type Listening } from './support/webApps.ts';

const imageBytes = new Uint8Array(readFileSync(fixture('image.png')));
let project: MediaProject;

before(async () => {
  project = await createMediaProject();
});

after(() => {
  project.remove();
});

function imageForm(name: string): FormData {
  const form = new FormData();
  form.append('name', name);
  form.append('picture', new Blob([imageBytes]), 'me.png');
  return form;
}

/** How many descriptors of this process have `path` open (other descriptors may come and go meanwhile). */
function descriptorsOpenOn(path: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false; // closed since the listing
    }
  }).length;
}

describe('mediaHandler in Express', () => {
  let app: Listening;
  let url: string;
  before(async () => {
    const express5 = express();
    express5.use(mediaHandler()); // at the root: what is not media goes on to the next route
    express5.get('/hello', (_request, response) => {
      response.send('the app');
    });
    express5.post('/profiles', uploadHandler(Profile, { field: 'picture', fields: ['name'] }));
    express5.post('/profiles/form', uploadHandler(Profile, { field: 'picture', redirect: (profile) => `/profiles/${profile.id}` }));
    app = await listenOnFreePort(createServer(express5));
    const profile = new Profile({ name: 'root' });
    await profile.picture.save('root.png', new ContentFile(imageBytes));
    url = profile.picture.url;
  });
  after(() => app.close());

  test('mounted at the root, it serves MEDIA_URL and hands every other path to next()', async () => {
    const media = await fetch(`${app.origin}${url}`);
    assert.equal(media.status, 200);
    assert.equal(media.headers.get('content-type'), 'image/png');
    assert.deepEqual(new Uint8Array(await media.arrayBuffer()), imageBytes);
    const other = await fetch(`${app.origin}/hello`);
    assert.equal(await other.text(), 'the app');
  });

  test('an upload answers 201 with the row and the URL, which serves the stored bytes', async () => {
    const response = await fetch(`${app.origin}/profiles`, { method: 'POST', body: imageForm('Grace') });
    assert.equal(response.status, 201);
    assert.match(response.headers.get('content-type')!, /^application\/json/);
    const answer = await response.json() as { row: { id: number; name: string; picture: { name: string; width: number } }; url: string };
    const saved = await Profile.objects.get(answer.row.id);
    assert.equal(answer.row.name, 'Grace');
    assert.equal(answer.row.picture.name, saved.picture.name);
    assert.equal(answer.row.picture.width, 64);
    assert.equal(answer.url, saved.picture.url);
    const served = await fetch(`${app.origin}${answer.url}`);
    assert.deepEqual(new Uint8Array(await served.arrayBuffer()), imageBytes);
  });

  test('with redirect, an upload answers 303 to the page of the new row', async () => {
    const form = new FormData();
    form.append('picture', new Blob([imageBytes]), 'me.png');
    const response = await fetch(`${app.origin}/profiles/form`, { method: 'POST', body: form, redirect: 'manual' });
    assert.equal(response.status, 303);
    const last = (await Profile.objects.last())!;
    assert.equal(response.headers.get('location'), `/profiles/${last.id}`);
  });

  test('a text field the form does not list is refused with 400 naming it, and nothing is stored', async () => {
    const before = await Profile.objects.count();
    const response = await fetch(`${app.origin}/profiles/form`, { method: 'POST', body: imageForm('not listed') });
    assert.equal(response.status, 400);
    assert.deepEqual(await response.json(), { error: 'name: This form does not set this field.' });
    assert.equal(await Profile.objects.count(), before);
  });
});

describe('making a handler', () => {
  test('an upload handler for a field that is not a file field, or a form field the model lacks, is refused at once', () => {
    assert.throws(() => uploadHandler(Profile, { field: 'name' }), /^TypeError: Profile has no file field 'name' \(file fields: picture\)\.$/);
    assert.throws(() => fetchUploadHandler(Document, { field: 'attachment', fields: ['owner'] }), /^TypeError: Document has no field 'owner' that a form can set \(fields: title\)\.$/);
  });

  test('without next(), a path outside MEDIA_URL gets a 404', async () => {
    const app = await listenOnFreePort(createServer((request, response) => void mediaHandler()(request, response)));
    try {
      const response = await fetch(`${app.origin}/elsewhere`);
      assert.equal(response.status, 404);
      await response.text();
    } finally {
      await app.close();
    }
  });
});

describe('fetchMediaHandler', () => {
  test('streams a large file in pieces, and a body cancelled half-way closes the file', async () => {
    const storage = storages.get('default');
    const bytes = new Uint8Array(4 * 1024 * 1024).map((_, index) => index % 251);
    const name = await storage.save('large/stream.bin', new ContentFile(bytes));
    const handler = fetchMediaHandler();
    const path = storage.path(name);
    assert.equal(descriptorsOpenOn(path), 0);

    const whole = await handler(new Request(`http://app.test${storage.url(name)}`));
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-length'), String(bytes.byteLength));
    const reader = whole.body!.getReader();
    let pieces = 0;
    let received = 0;
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      pieces++;
      received += next.value.byteLength;
      assert.ok(next.value.byteLength <= 64 * 1024, 'never more than one piece at a time');
    }
    assert.equal(received, bytes.byteLength);
    assert.ok(pieces >= 64);

    const cancelled = await handler(new Request(`http://app.test${storage.url(name)}`));
    const partial = cancelled.body!.getReader();
    await partial.read();
    assert.equal(descriptorsOpenOn(path), 1, 'the file is open while it is read');
    await partial.cancel();
    assert.equal(descriptorsOpenOn(path), 0, 'cancelling the body closed the file');
  });

  test('HEAD and 304 answers have no body and leave no file open', async () => {
    const storage = storages.get('default');
    const name = await storage.save('small/head.txt', new ContentFile('hello'));
    const handler = fetchMediaHandler();
    const head = await handler(new Request(`http://app.test${storage.url(name)}`, { method: 'HEAD' }));
    assert.equal(head.status, 200);
    assert.equal(head.body, null);
    const etag = head.headers.get('etag')!;
    const cached = await handler(new Request(`http://app.test${storage.url(name)}`, { headers: { 'if-none-match': etag } }));
    assert.equal(cached.status, 304);
    assert.equal(cached.body, null);
    assert.equal(descriptorsOpenOn(storage.path(name)), 0);
  });
});

describe('fetchUploadHandler', () => {
  test('takes a web Request as a route handler gets it (no server in between) and answers 201 with JSON', async () => {
    const handler = fetchUploadHandler(Profile, { field: 'picture', fields: ['name'] });
    const response = await handler(new Request('http://app.test/profiles', { method: 'POST', body: imageForm('Route') }));
    assert.equal(response.status, 201);
    const answer = await response.json() as { row: { id: number; name: string }; url: string };
    const saved = await Profile.objects.get(answer.row.id);
    assert.equal(saved.name, 'Route');
    assert.equal(answer.url, saved.picture.url);
  });

  test('a Request that is not a form gets 400 saying so', async () => {
    const handler = fetchUploadHandler(Profile, { field: 'picture' });
    const response = await handler(new Request('http://app.test/profiles', { method: 'POST', body: 'a picture', headers: { 'content-type': 'text/plain' } }));
    assert.equal(response.status, 400);
    assert.deepEqual(await response.json(), { error: 'The upload must be sent as multipart/form-data.' });
  });
});

describe('the content type comes from the row, found by name', () => {
  test('a row another process writes is seen by the next request, though the index was built before', async () => {
    const handler = fetchMediaHandler({ models: [Picture] });
    const storage = storages.get('default');
    // A first request builds the index of Picture.image (empty now).
    const before = await handler(new Request(`http://app.test${storage.url('pictures/none.png')}`));
    assert.equal(before.status, 404);
    await before.text();

    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/model-writer.ts', JSON.stringify({
      BASE_DIR: project.dir, MEDIA_ROOT: project.mediaRoot, DATABASE: join(project.dir, 'db.json'),
    }), 'picture', '1', 'other-process'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (piece: Buffer) => {
      output += piece.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    assert.equal(code, 0);
    assert.match(output, /DONE 1/);

    const [row] = await Picture.objects.filter({ title: 'other-process-0' });
    assert.ok(row, 'the other process wrote its row');
    // Its bytes replaced by text: only the row can still say image/png.
    writeFileSync(row.image.path, 'no longer a picture');
    const served = await handler(new Request(`http://app.test${row.image.url}`));
    assert.equal(served.status, 200);
    assert.equal(served.headers.get('content-type'), 'image/png');
    assert.equal(await served.text(), 'no longer a picture');
  });

  test('lookups by file name on the JSON engine find the same rows as a scan', async () => {
    const names = [];
    for (let index = 0; index < 5; index++) {
      const document = new Document({ title: `doc ${index}` });
      await document.attachment.save('same.txt', new ContentFile(`text ${index}`));
      names.push(document.attachment.name);
    }
    for (const name of names) {
      const found = await Document.objects.filter({ attachment: name });
      const scanned = (await Document.objects.all()).filter((document) => document.attachment.name === name);
      assert.deepEqual(found.map((document) => document.id), scanned.map((document) => document.id));
      assert.equal(found.length, 1);
    }
    assert.deepEqual(await Document.objects.filter({ attachment: 'documents/none.txt' }), []);
  });
});
