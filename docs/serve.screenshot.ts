// Makes docs/serve.png: the upload page of the example project with a few profiles and a refused upload.
// Run from the repository: node --import tsx docs/serve.screenshot.ts   (needs /usr/bin/chromium)
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as Playwright from '../test/tools/node_modules/playwright-core/index.d.ts';
import { configure, File } from '../src/index.ts';
import { serve } from '../src/server/index.ts';
import { Profile } from '../example/models.ts';

// playwright-core is one of the test tools (test/tools/package.json), loaded from there.
const { chromium } = createRequire(new URL('../test/tools/package.json', import.meta.url))('playwright-core') as typeof Playwright;

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const output = fileURLToPath(new URL('./serve.png', import.meta.url));

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'filefield-screenshot-')));
// As in a project folder: the page shows the media folder relative to where the server was started.
process.chdir(dir);
await configure({ BASE_DIR: dir, SECRET_KEY: 'screenshot-secret-key-0123456789' });
for (const [name, picture] of [['Ada Lovelace', 'image.png'], ['Grace Hopper', 'image.jpg'], ['Katherine Johnson', 'image.webp']] as const) {
  await using file = await File.open(fixture(picture));
  await new Profile({ name }).picture.save(picture, file);
}

const server = await serve({ port: 0, models: [Profile], announce: false });
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-quic'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1040, height: 560 } });
  await page.goto(server.url);
  // The refusal is part of the picture: HTML named .png, typed name kept, message above the form.
  await page.locator('input[name="name"]').fill('Mallory');
  await page.locator('input[name="picture"]').setInputFiles(fixture('html-posing.png'));
  await Promise.all([page.waitForNavigation(), page.locator('button[type="submit"]').click()]);
  await page.waitForFunction(() => Array.from(document.images).every((image) => image.complete && image.naturalWidth > 0));
  await page.screenshot({ path: output, fullPage: true });
  console.log(`wrote ${output}`);
} finally {
  await browser.close();
  await server.close();
  process.chdir(tmpdir());
  rmSync(dir, { recursive: true, force: true });
}
