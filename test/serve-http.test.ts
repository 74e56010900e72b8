// `filefield serve` over real HTTP: a real server on a free port, real files in a temporary project.
// The media and upload behaviour every server shares is in http-servers.test.ts; this is the page's own.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ContentFile } from '../src/index.ts';
import {
  Document, Profile, filesUnder, fixture, rawGet, startServeProject, upload, type ServeProject,
} from './support/serveProject.ts';

const UPLOAD_LIMIT = 256 * 1024;
const bytesOf = (name: string): Uint8Array<ArrayBuffer> => new Uint8Array(readFileSync(fixture(name)));

let project: ServeProject;
let imageUrl: string;
const imageBytes = bytesOf('image.png');

before(async () => {
  project = await startServeProject({ FILE_UPLOAD_MAX_SIZE: UPLOAD_LIMIT });
  const profile = new Profile({ name: 'Ada' });
  await profile.picture.save('ada.png', new ContentFile(imageBytes));
  imageUrl = profile.picture.url;
});

after(async () => {
  await project.close();
});

async function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${project.origin}${path}`, { headers, redirect: 'manual' });
}

/** The media files and rows now, to compare after a refused upload. */
async function snapshot(): Promise<{ files: string[]; profiles: number; documents: number }> {
  return { files: filesUnder(project.mediaRoot), profiles: await Profile.objects.count(), documents: await Document.objects.count() };
}

describe('the upload page', () => {
  test('an accepted upload stores the file and the row, then redirects to the page (POST-redirect-GET)', async () => {
    const before = await snapshot();
    const response = await upload(project, 'Profile', { name: 'Grace', picture: { bytes: imageBytes, filename: 'grace.png' } });
    assert.equal(response.status, 303);
    const profile = (await Profile.objects.last())!;
    assert.equal(profile.name, 'Grace');
    assert.equal(profile.picture.width, 64);
    assert.equal(profile.picture.contentType, 'image/png');
    assert.equal(response.headers.get('location'), `/?saved=Profile&id=${profile.id}#Profile-${profile.id}`);
    const after = await snapshot();
    assert.equal(after.profiles, before.profiles + 1);
    assert.deepEqual(after.files.filter((file) => !before.files.includes(file)), [profile.picture.name]);
    const page = await (await get(response.headers.get('location')!)).text();
    assert.match(page, new RegExp(`Saved Profile #${profile.id}\\.`));
    assert.ok(page.includes(`<img src="${profile.picture.url}" width="64" height="48"`));
  });

  test('a fake image (HTML named .png) gets 400, the page shows why, and nothing is stored', async () => {
    const before = await snapshot();
    const response = await upload(project, 'Profile', { name: 'Mallory <script>', picture: { bytes: bytesOf('html-posing.png'), filename: 'html-posing.png' } });
    assert.equal(response.status, 400);
    const page = await response.text();
    assert.match(page, /role="alert"><strong>Not saved\.<\/strong> picture: Upload a valid image\. The file you uploaded was either not an image or a corrupted image\. It is HTML, not an image\./);
    assert.ok(page.includes('value="Mallory &lt;script&gt;"'), 'the typed name is kept, escaped');
    assert.ok(!page.includes('Mallory <script>'));
    assert.deepEqual(await snapshot(), before);
  });

  test('a POST from another origin is refused (403) before anything is read', async () => {
    const before = await snapshot();
    const response = await upload(project, 'Profile', { name: 'csrf', picture: { bytes: imageBytes, filename: 'x.png' } }, { origin: 'http://evil.example' });
    assert.equal(response.status, 403);
    await response.text();
    assert.deepEqual(await snapshot(), before);
  });

  test('a Referer from another site is refused; same-site Referer is accepted', async () => {
    const form = (): FormData => {
      const data = new FormData();
      data.append('title', 'referred');
      data.append('attachment', new Blob([bytesOf('notes.txt')]), 'notes.txt');
      return data;
    };
    const foreign = await fetch(`${project.origin}/upload/Document`, { method: 'POST', body: form(), redirect: 'manual', headers: { referer: 'http://evil.example/page' } });
    assert.equal(foreign.status, 403);
    await foreign.text();
    const own = await fetch(`${project.origin}/upload/Document`, { method: 'POST', body: form(), redirect: 'manual', headers: { referer: `${project.origin}/` } });
    assert.equal(own.status, 303);
  });

  test('a Host header naming another server is refused (DNS rebinding)', async () => {
    const response = await rawGet(project.origin, '/', { host: 'attacker.example' });
    assert.equal(response.status, 400);
  });
});
