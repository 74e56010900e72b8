// Direct uploads from a real browser (Chromium through playwright-core), on the page of `filefield serve`:
// the page PUTs a picked file to the signed local URL, and submits a form of S3's presigned POST fields
// and the file straight to s3rver (the bytes never pass through our server); attachUploaded() then records
// both. The page's Content-Security-Policy allows no script or foreign form target of its own, so the
// test's script runs with it bypassed, as a page built for direct uploads would send its own policy.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext } from './tools/node_modules/playwright-core/index.d.ts';
import { ImageField, Model, storages, type ImageFieldFile } from '../src/index.ts';
import { readStored } from './support/conformance.ts';
import { imageModel, s3StorageOn } from './support/directUpload.ts';
import { startS3rver, type RunningS3rver } from './support/s3rver.ts';
import { filesUnder, fixture, startServeProject, type ServeProject } from './support/serveProject.ts';
import { requireTool } from './support/tools.ts';

const { chromium } = requireTool('playwright-core') as typeof import('./tools/node_modules/playwright-core/index.d.ts');

const CHROMIUM = '/usr/bin/chromium';
const missingBrowser = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (Debian package: chromium)`;

let project: ServeProject;
let s3: RunningS3rver;
let browser: Browser;
let context: BrowserContext;

before(async () => {
  if (missingBrowser) return;
  [project, s3] = await Promise.all([startServeProject(), startS3rver()]);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context = await browser.newContext({ bypassCSP: true });
});

after(async () => {
  await browser?.close();
  await Promise.all([project?.close(), s3?.stop()]);
});

class Snapshot extends Model {
  static override table = 'Snapshot';
  static override fields = { image: new ImageField({ uploadTo: 'snapshots' }) };
  declare image: ImageFieldFile;
}

test('the local disk: the page PUTs the picked file to the signed URL, and attachUploaded() records it', async (t) => {
  if (missingBrowser) return t.skip(missingBrowser);
  const upload = await storages.get('default').signedUploadUrl('snapshots/from-browser.png', { expiresIn: 120, contentType: 'image/png', maxSize: 100_000 });
  const page = await context.newPage();
  await page.goto(project.server.url);
  await page.evaluate(() => {
    const input = document.createElement('input');
    input.type = 'file';
    input.id = 'direct';
    document.body.append(input);
  });
  await page.locator('#direct').setInputFiles(fixture('image.png'));
  const answer = await page.evaluate(async ({ url, headers }) => {
    const file = (document.querySelector('#direct') as HTMLInputElement).files![0]!;
    const response = await fetch(url, { method: 'PUT', headers, body: file });
    return { status: response.status, body: await response.json() as { name: string } };
  }, { url: upload.url, headers: upload.headers });
  assert.equal(answer.status, 201);
  assert.equal(answer.body.name, upload.name);
  const snapshot = new Snapshot();
  await snapshot.image.attachUploaded(answer.body.name);
  assert.equal((await Snapshot.objects.get(snapshot.id!)).image.width, 64);
  assert.deepEqual(readFileSync(join(project.mediaRoot, upload.name)), readFileSync(fixture('image.png')));
  await page.close();
});

test('S3: the page submits the presigned POST form straight to the bucket; attachUploaded() records it', async (t) => {
  if (missingBrowser) return t.skip(missingBrowser);
  const storage = s3StorageOn(s3, 'browser');
  const Avatar = imageModel('BrowserAvatar', storage);
  const upload = await storage.signedUploadUrl('avatars/from-browser.png', { expiresIn: 120, contentType: 'image/png', maxSize: 100_000 });
  const filesBefore = filesUnder(project.mediaRoot);
  const page = await context.newPage();
  await page.goto(project.server.url);
  await page.evaluate(({ url, fields }) => {
    const form = document.createElement('form');
    form.id = 'direct';
    form.method = 'POST';
    form.action = url;
    form.enctype = 'multipart/form-data';
    for (const [name, value] of Object.entries(fields)) {
      const input = document.createElement('input');
      input.type = 'hidden';
      input.name = name;
      input.value = value;
      form.append(input);
    }
    const file = document.createElement('input');
    file.type = 'file';
    file.name = 'file';
    form.append(file);
    document.body.append(form);
  }, { url: upload.url, fields: upload.fields });
  await page.locator('#direct input[type="file"]').setInputFiles(fixture('image.png'));
  const [response] = await Promise.all([page.waitForNavigation(), page.evaluate(() => (document.querySelector('#direct') as HTMLFormElement).submit())]);
  assert.ok(response && response.status() < 300, `s3rver answered ${response?.status()}`);
  assert.ok(response.url().startsWith(s3.endpoint), `the form went to ${response.url()}`);
  assert.deepEqual(await readStored(storage, upload.name), readFileSync(fixture('image.png')));
  assert.deepEqual(filesUnder(project.mediaRoot), filesBefore, 'nothing reached our server');
  const avatar = new Avatar();
  await avatar.image.attachUploaded(upload.name);
  assert.equal((await Avatar.objects.get(avatar.id!)).image.height, 48);
  await page.close();
});
