// The example apps of example/apps/ (Express, Fastify, Hono): the form uploads a picture, the profile's page
// shows it, over real HTTP on 127.0.0.1; and in a real browser (Chromium), through the Express app's form.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { requireTool } from './support/tools.ts';
import { Profile, createMediaProject, filesUnder, fixture, type MediaProject } from './support/serveProject.ts';
import { listenOnFreePort, type Listening } from './support/webApps.ts';

const { chromium } = requireTool('playwright-core') as typeof import('./tools/node_modules/playwright-core/index.d.ts');

const CHROMIUM = '/usr/bin/chromium';
const missingBrowser = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (Debian package: chromium)`;
const imageBytes = new Uint8Array(readFileSync(fixture('image.png')));

// The apps read MEDIA_URL when they are made: imported after the project is configured.
const EXAMPLES: Record<string, () => Promise<Listening>> = {
  Express: async () => listenOnFreePort(createServer((await import('../example/apps/express.ts')).app)),
  Fastify: async () => {
    const { app } = await import('../example/apps/fastify.ts');
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { origin: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
  },
  Hono: async () => {
    const { app } = await import('../example/apps/hono.ts');
    const { getRequestListener } = await import('@hono/node-server');
    return listenOnFreePort(createServer(getRequestListener(app.fetch, { overrideGlobalObjects: false })));
  },
};

let project: MediaProject;
before(async () => {
  project = await createMediaProject();
});
after(() => project.remove());

for (const [name, start] of Object.entries(EXAMPLES)) {
  describe(`example/apps: ${name}`, () => {
    let app: Listening;
    before(async () => {
      app = await start();
    });
    after(() => app.close());

    test('the form uploads a picture and the profile page shows it', async () => {
      const form = await (await fetch(`${app.origin}/`)).text();
      assert.match(form, /<form method="post" action="\/profiles" enctype="multipart\/form-data">/);
      const body = new FormData();
      body.append('name', `${name} <fan>`);
      body.append('picture', new Blob([imageBytes], { type: 'image/png' }), 'me.png');
      const uploaded = await fetch(`${app.origin}/profiles`, { method: 'POST', body, redirect: 'manual' });
      assert.equal(uploaded.status, 303);
      const profile = (await Profile.objects.last())!;
      assert.equal(profile.name, `${name} <fan>`);
      assert.equal(uploaded.headers.get('location'), `/profiles/${profile.id}`);

      const page = await (await fetch(`${app.origin}/profiles/${profile.id}`)).text();
      assert.ok(page.includes(`<img src="${profile.picture.url}" alt="${name} &#60;fan&#62;" width="64" height="48">`), page);
      const image = await fetch(`${app.origin}${profile.picture.url}`);
      assert.equal(image.headers.get('content-type'), 'image/png');
      assert.deepEqual(new Uint8Array(await image.arrayBuffer()), imageBytes);
    });

    test('a fake image is refused with 400 saying why, and nothing is stored', async () => {
      const before = { files: filesUnder(project.mediaRoot), rows: await Profile.objects.count() };
      const body = new FormData();
      body.append('picture', new Blob([readFileSync(fixture('html-posing.png'))]), 'html-posing.png');
      const refused = await fetch(`${app.origin}/profiles`, { method: 'POST', body, redirect: 'manual' });
      assert.equal(refused.status, 400);
      assert.match((await refused.json() as { error: string }).error, /^picture: Upload a valid image\./);
      assert.deepEqual({ files: filesUnder(project.mediaRoot), rows: await Profile.objects.count() }, before);
    });

    test('an unknown profile is a 404', async () => {
      for (const id of ['999', 'abc']) {
        const response = await fetch(`${app.origin}/profiles/${id}`);
        assert.equal(response.status, 404);
        await response.text();
      }
    });
  });
}

test('in Chromium: the Express example\'s form uploads fixtures/image.png and the page renders it', async (t) => {
  if (missingBrowser) return t.skip(missingBrowser);
  const app = await EXAMPLES.Express!();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-quic'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`${app.origin}/`);
    await page.locator('input[name="name"]').fill('Ada Lovelace');
    await page.locator('input[name="picture"]').setInputFiles(fixture('image.png'));
    const [response] = await Promise.all([page.waitForNavigation(), page.locator('button[type="submit"]').click()]);
    assert.equal(response?.status(), 200);
    const profile = (await Profile.objects.last())!;
    assert.equal(profile.name, 'Ada Lovelace');
    assert.equal(new URL(page.url()).pathname, `/profiles/${profile.id}`);
    assert.equal(await page.locator('h1').innerText(), 'Ada Lovelace');
    await page.waitForFunction(() => document.images.length === 1 && document.images[0]!.complete);
    const natural = await page.locator('img').evaluate((image: HTMLImageElement) => ({ width: image.naturalWidth, height: image.naturalHeight }));
    assert.deepEqual(natural, { width: 64, height: 48 }, 'the image was served and decoded');
  } finally {
    await browser.close();
    await app.close();
  }
});
