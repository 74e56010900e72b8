// Project files (settings, models, backends) loaded without a loader hook: bundled with esbuild beside their
// source, imported, removed. Real files in temporary project folders.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Model } from '../src/index.ts';
import { forgetImportedModules, importFreshModule, importModule } from '../src/conf/modules.ts';

let scratch: string;
let projectCount = 0;

/** A fresh project folder holding the given files (relative name → content). */
function project(files: Record<string, string>): string {
  const folder = join(scratch, `project-${++projectCount}`);
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(join(folder, name, '..'), { recursive: true });
    fs.writeFileSync(join(folder, name), content);
  }
  return folder;
}

/** Everything in a folder, hidden files included, after the imports are done. */
const listing = (folder: string): string[] => fs.readdirSync(folder, { recursive: true }).map(String).sort();

before(() => {
  scratch = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), 'filefield-modules-')));
});

after(() => {
  forgetImportedModules();
  fs.rmSync(scratch, { recursive: true, force: true });
});

describe('importModule (project files)', () => {
  test("TypeScript that imports 'filefield' and a relative module gets this copy of filefield; nothing is left beside it", async () => {
    const folder = project({
      'models.ts': "import { Model, CharField } from 'filefield';\nimport { prefix } from './lib/prefix.ts';\n"
        + 'export class Note extends Model { static override fields = { title: new CharField() }; }\nexport const label: string = prefix;\n',
      'lib/prefix.ts': "export const prefix = 'notes';\n",
    });
    const module = await importModule(join(folder, 'models.ts'));
    assert.ok((module.Note as typeof Model).prototype instanceof Model);
    assert.equal(module.label, 'notes');
    assert.deepEqual(listing(folder), ['lib', 'lib/prefix.ts', 'models.ts']);
  });

  test("a project whose node_modules hold another copy of filefield still gets the running one (one copy per process)", async () => {
    const folder = project({
      'node_modules/filefield/package.json': '{ "name": "filefield", "type": "module", "exports": { ".": "./index.js", "./storage/s3": "./s3.js" } }\n',
      'node_modules/filefield/index.js': 'export class Model {}\n',
      'node_modules/filefield/s3.js': 'export class S3Storage {}\n',
      'models.ts': "import { Model } from 'filefield';\nimport { S3Storage } from 'filefield/storage/s3';\nexport { Model, S3Storage };\n",
    });
    const module = await importModule(join(folder, 'models.ts'));
    assert.equal(module.Model, Model);
    const { S3Storage } = await import('../src/storage/s3/index.ts');
    assert.equal(module.S3Storage, S3Storage);
  });

  test('a file is imported once: every caller gets the same classes', async () => {
    const folder = project({ 'models.mts': "import { Model } from 'filefield';\nexport class Once extends Model {}\n" });
    const first = await importModule(join(folder, 'models.mts'));
    const second = await importModule(join(folder, 'models.mts'));
    assert.equal(first.Once, second.Once);
  });

  test('importFreshModule sees the new version of the file and of the project files it imports', async () => {
    const folder = project({
      'filefield.config.ts': "import { root } from './paths.ts';\nexport default { MEDIA_ROOT: root, MEDIA_URL: '/one/' };\n",
      'paths.ts': "export const root = 'media-one';\n",
    });
    const file = join(folder, 'filefield.config.ts');
    const before = (await importModule(file)).default as { MEDIA_ROOT: string; MEDIA_URL: string };
    assert.deepEqual(before, { MEDIA_ROOT: 'media-one', MEDIA_URL: '/one/' });
    fs.writeFileSync(file, "import { root } from './paths.ts';\nexport default { MEDIA_ROOT: root, MEDIA_URL: '/two/' };\n");
    fs.writeFileSync(join(folder, 'paths.ts'), "export const root = 'media-two';\n");
    assert.equal(await importModule(file), await importModule(file), 'cached until asked for a fresh one');
    const after = (await importFreshModule(file)).default;
    assert.deepEqual(after, { MEDIA_ROOT: 'media-two', MEDIA_URL: '/two/' });
    assert.equal((await importModule(file)).default, after, 'later imports get the fresh version');
  });

  test('packages resolve from the project folder, as from the source', async () => {
    const folder = project({
      'node_modules/only-here/package.json': '{ "name": "only-here", "type": "module", "exports": "./index.js" }\n',
      'node_modules/only-here/index.js': "export const where = 'the project';\n",
      'src/settings.ts': "import { where } from 'only-here';\nexport const FOUND: string = where;\n",
    });
    assert.equal((await importModule(join(folder, 'src/settings.ts'))).FOUND, 'the project');
  });

  test('each project file keeps its own import.meta.url, __dirname and __filename', async () => {
    const folder = project({
      'entry.ts': "import { here } from './nested/where.ts';\nexport const entryUrl = import.meta.url;\nexport { here };\n",
      'nested/where.ts': 'export const here = { url: import.meta.url, dirname: import.meta.dirname, cjs: __dirname + "|" + __filename };\n',
    });
    const module = await importModule(join(folder, 'entry.ts'));
    assert.equal(module.entryUrl, pathToFileURL(join(folder, 'entry.ts')).href);
    const here = module.here as { url: string; dirname: string; cjs: string };
    assert.equal(here.url, pathToFileURL(join(folder, 'nested/where.ts')).href);
    assert.equal(here.dirname, join(folder, 'nested'));
    assert.equal(here.cjs, `${join(folder, 'nested')}|${join(folder, 'nested/where.ts')}`);
  });

  test('a CommonJS settings file (module.exports, require) works and shares this copy of filefield', async () => {
    const folder = project({
      'package.json': '{ "type": "commonjs" }\n',
      'filefield.config.js': "const { Model } = require('filefield');\nconst path = require('node:path');\n"
        + "module.exports = { MEDIA_URL: '/cjs/', isModel: Model, sep: path.sep };\n",
    });
    const module = await importModule(join(folder, 'filefield.config.js'));
    const values = module.default as { MEDIA_URL: string; isModel: unknown; sep: string };
    assert.equal(values.MEDIA_URL, '/cjs/');
    assert.equal(values.isModel, Model);
  });

  test('a syntax error names the file, line and column', async () => {
    const folder = project({
      'filefield.config.ts': "import './models.ts';\nexport default {};\n",
      'models.ts': 'export const ok = 1;\nexport const broken: number = (1 +;\n',
    });
    await assert.rejects(importModule(join(folder, 'filefield.config.ts')), (error: unknown) => {
      assert.ok(error instanceof SyntaxError, String(error));
      assert.match(error.message, new RegExp(`^${join(folder, 'models.ts').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:35: Unexpected ";"`));
      return true;
    });
    assert.deepEqual(listing(folder), ['filefield.config.ts', 'models.ts'], 'no bundle left behind');
  });

  test('an error thrown while the module runs points at the source line, not the bundle, and its message says where', async () => {
    const folder = project({
      'models.ts': "import { helper } from './helper.ts';\nexport const value = helper();\n",
      'helper.ts': 'interface Nothing { x: number }\nexport function helper(): number {\n  const nothing = undefined as unknown as Nothing;\n  return nothing.x;\n}\n',
    });
    await assert.rejects(importModule(join(folder, 'models.ts')), (error: unknown) => {
      assert.ok(error instanceof TypeError, String(error));
      assert.match(error.stack ?? '', new RegExp(`helper\\.ts:4:\\d+`), error.stack);
      assert.ok(error.message.endsWith(` (at ${join(folder, 'helper.ts')}:4:18)`), error.message);
      return true;
    });
  });

  test('a failed import is not remembered: a fixed file imports', async () => {
    const folder = project({ 'models.ts': 'export const x = ;\n' });
    await assert.rejects(importModule(join(folder, 'models.ts')), SyntaxError);
    fs.writeFileSync(join(folder, 'models.ts'), 'export const x = 2;\n');
    assert.equal((await importModule(join(folder, 'models.ts'))).x, 2);
  });

  test("an export that filefield does not have is named", async () => {
    const folder = project({ 'models.ts': "export * from 'filefield/nope';\n" });
    await assert.rejects(importModule(join(folder, 'models.ts')), /models\.ts:1:\d+: The package filefield has no export "filefield\/nope"/);
  });

  test('package names and URLs are imported as they are', async () => {
    assert.equal(typeof (await importModule('node:path')).join, 'function');
    const url = pathToFileURL(fileURLToPath(new URL('../src/index.ts', import.meta.url))).href;
    assert.equal((await importModule(url)).Model, Model);
  });

  // Root may write anywhere, so the read-only case is played by another user; a run that is not root cannot switch.
  test('a project folder the user may not write to (a global install): the bundle goes to a temporary folder, packages still resolve',
    { skip: process.getuid?.() !== 0 && 'needs root, to run the CLI as another user' }, () => {
      const folder = project({
        'node_modules/only-here/package.json': '{ "name": "only-here", "type": "module", "exports": "./index.js" }\n',
        'node_modules/only-here/index.js': "export const where = 'beside the settings';\n",
        'filefield.config.ts': "import { where } from 'only-here';\nexport default { MEDIA_URL: '/read-only/', WHERE: where };\n",
      });
      fs.chmodSync(scratch, 0o755); // mkdtemp's folder is its owner's only
      const cwd = join(scratch, 'writable-by-nobody');
      fs.mkdirSync(cwd);
      fs.chownSync(cwd, 65534, 65534);
      const cli = fileURLToPath(new URL('../bin/filefield.js', import.meta.url));
      const run = spawnSync(process.execPath, [cli, 'shell', '--settings', join(folder, 'filefield.config.ts'), '-c', 'console.log(settings.MEDIA_URL, settings.WHERE)'], {
        cwd, uid: 65534, gid: 65534, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: cwd },
      });
      assert.equal(run.stderr, '');
      assert.equal(run.stdout, '/read-only/ beside the settings\n');
      assert.deepEqual(listing(folder).filter((name) => !name.startsWith('node_modules')), ['filefield.config.ts']);
    });
});
