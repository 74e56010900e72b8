// The upload page in a real browser (Chromium through playwright-core): upload an image and see it,
// upload a fake one and see the refusal, follow a signed link and an expired one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Browser, Page } from './tools/node_modules/playwright-core/index.d.ts';
import { requireTool } from './support/tools.ts';
import { signUrl } from '../src/storage/signing.ts';
import { Profile, filesUnder, fixture, startServeProject, type ServeProject } from './support/serveProject.ts';

const { chromium } = requireTool('playwright-core') as typeof import('./tools/node_modules/playwright-core/index.d.ts');

const CHROMIUM = '/usr/bin/chromium';
const missingBrowser = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (Debian package: chromium)`;

let project: ServeProject;
let browser: Browser;
let page: Page;
/** What the browser reported as blocked by the pages' Content-Security-Policy (must stay empty). */
const policyViolations: string[] = [];

before(async () => {
  if (missingBrowser) return;
  project = await startServeProject();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-quic'],
  });
  page = await browser.newPage();
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) policyViolations.push(message.text());
  });
});

after(async () => {
  await browser?.close();
  await project?.close();
});

/** Whether every image of the page (or of an image document) has loaded and decoded. */
function imagesRendered(target: Page): Promise<boolean> {
  return target.evaluate(() => {
    const images = Array.from(document.images);
    return images.length > 0 && images.every((image) => image.complete && image.naturalWidth > 0);
  });
}

test('uploading fixtures/image.png through the page shows it rendered', async (t) => {
  if (missingBrowser) return t.skip(missingBrowser);
  await page.goto(project.server.url);
  const form = page.locator('form[action="/upload/Profile"]');
  await form.locator('input[name="name"]').fill('Ada Lovelace');
  await form.locator('input[name="picture"]').setInputFiles(fixture('image.png'));
  const [response] = await Promise.all([page.waitForNavigation(), form.locator('button[type="submit"]').click()]);
  assert.equal(response?.status(), 200);
  assert.match(page.url(), /\?saved=Profile&id=1#Profile-1$/);
  await page.locator('[role="status"]').filter({ hasText: 'Saved Profile #1.' }).waitFor();

  const image = page.locator('#Profile-1 img');
  await image.waitFor();
  await page.waitForFunction(() => {
    const element = document.querySelector<HTMLImageElement>('#Profile-1 img');
    return element !== null && element.complete;
  });
  const natural = await image.evaluate((element: HTMLImageElement) => ({ width: element.naturalWidth, height: element.naturalHeight }));
  assert.deepEqual(natural, { width: 64, height: 48 });
  assert.equal(await image.getAttribute('width'), '64');
  assert.equal(await image.getAttribute('height'), '48');
  assert.equal(await page.locator('#Profile-1').getByText('Ada Lovelace').count(), 1);
  // The stylesheet and the images are allowed by the page's policy: nothing was blocked.
  assert.deepEqual(policyViolations, []);
  assert.equal(await page.locator('button[type="submit"]').first().evaluate((button) => getComputedStyle(button).backgroundColor), 'rgb(35, 88, 196)');
});

test('uploading fixtures/html-posing.png shows the refusal and stores nothing', async (t) => {
  if (missingBrowser) return t.skip(missingBrowser);
  await page.goto(project.server.url);
  const filesBefore = filesUnder(project.mediaRoot);
  const rowsBefore = await Profile.objects.count();
  const form = page.locator('form[action="/upload/Profile"]');
  await form.locator('input[name="name"]').fill('Mallory');
  await form.locator('input[name="picture"]').setInputFiles(fixture('html-posing.png'));
  const [response] = await Promise.all([page.waitForNavigation(), form.locator('button[type="submit"]').click()]);
  assert.equal(response?.status(), 400);
  const alert = page.locator('form[action="/upload/Profile"] [role="alert"]');
  assert.match(await alert.innerText(), /Not saved\. picture: Upload a valid image\. The file you uploaded was either not an image or a corrupted image\. It is HTML, not an image\./);
  assert.equal(await form.locator('input[name="name"]').inputValue(), 'Mallory', 'what was typed is kept');
  // The page that came back is the upload page, not the uploaded HTML: its script never ran.
  assert.equal(await page.title(), 'filefield · media and uploads');
  assert.deepEqual(filesUnder(project.mediaRoot), filesBefore);
  assert.equal(await Profile.objects.count(), rowsBefore);
});

test('a signed link opens the image; an expired one is refused with 403', async (t) => {
  if (missingBrowser) return t.skip(missingBrowser);
  await page.goto(project.server.url);
  const signedHref = await page.locator('#Profile-1').getByRole('link', { name: 'Signed link (1 h)' }).getAttribute('href');
  assert.ok(signedHref, 'the page offers a signed link');
  assert.match(signedHref, /[?&]expires=\d+&signature=/);

  const signed = await page.goto(new URL(signedHref, project.server.url).href);
  assert.equal(signed?.status(), 200);
  assert.equal(signed?.headers()['content-type'], 'image/png');
  await page.waitForFunction(() => document.images.length > 0 && document.images[0]!.complete);
  assert.ok(await imagesRendered(page), 'the image is shown');

  const profile = (await Profile.objects.get(1))!;
  const expiredHref = signUrl(profile.picture.url, 60, Date.now() - 3600_000);
  const expired = await page.goto(new URL(expiredHref, project.server.url).href);
  assert.equal(expired?.status(), 403);
  assert.match(await page.locator('body').innerText(), /expired/);
});
