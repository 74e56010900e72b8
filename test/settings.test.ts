// configure(), loadSettings(), findSettingsFile(), storages and defaultStorage, with real settings files
// in temporary project folders.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  configure, ContentFile, defaultStorage, defineSettings, FileSystemStorage, findSettingsFile, ImproperlyConfigured,
  InMemoryStorage, InvalidStorageError, loadSettings, settings, Storage, StorageHandler, storages,
  type SettingsInput,
} from '../src/index.ts';

const indexUrl = pathToFileURL(fileURLToPath(new URL('../src/index.ts', import.meta.url))).href;
const exampleSettingsFile = fileURLToPath(new URL('../example/filefield.config.ts', import.meta.url));

let scratch: string;
let projectCount = 0;
const savedEnvironment = process.env.FILEFIELD_SETTINGS;

/** A fresh project folder holding the given files (name → content). */
function project(files: Record<string, string>): string {
  const folder = join(scratch, `project-${++projectCount}`);
  fs.mkdirSync(folder);
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(join(folder, name), content);
  return folder;
}

before(() => {
  scratch = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), 'filefield-settings-')));
  delete process.env.FILEFIELD_SETTINGS;
});

after(async () => {
  if (savedEnvironment === undefined) delete process.env.FILEFIELD_SETTINGS;
  else process.env.FILEFIELD_SETTINGS = savedEnvironment;
  await configure({});
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** Asserts that applying `values` fails with ImproperlyConfigured whose message names `key`. */
async function assertImproperlyConfigured(values: SettingsInput, key: string | RegExp): Promise<void> {
  const before = settings.MEDIA_URL;
  await assert.rejects(
    async () => configure(values),
    (error: unknown) => {
      assert.ok(error instanceof ImproperlyConfigured, `expected ImproperlyConfigured, got ${String(error)}`);
      if (typeof key === 'string') assert.ok(error.message.includes(key), `"${error.message}" does not name ${key}`);
      else assert.match(error.message, key);
      return true;
    },
  );
  assert.equal(settings.MEDIA_URL, before, 'the previous settings stay after a refused configure()');
}

describe('defaults', () => {
  // First in the file: nothing has configured this process yet.
  test('without any configuration: Django-like defaults relative to the working directory', () => {
    const cwd = process.cwd();
    assert.equal(settings.MEDIA_ROOT, join(cwd, 'media'));
    assert.equal(settings.MEDIA_URL, '/media/');
    assert.equal(settings.DATABASE, join(cwd, 'db.json'));
    assert.equal(settings.BASE_DIR, cwd);
    assert.equal(settings.FILE_UPLOAD_PERMISSIONS, 0o644);
    assert.equal(settings.FILE_UPLOAD_DIRECTORY_PERMISSIONS, null);
    assert.equal(settings.FILE_UPLOAD_MAX_SIZE, null);
    assert.deepEqual(settings.MODELS, []);
    assert.equal(settings.SETTINGS_FILE, null);
    assert.deepEqual(settings.STORAGES, { default: { BACKEND: 'filesystem', OPTIONS: {} } });
  });

  test('configure({}) gives the same defaults; configure() resolves to the settings', async () => {
    const applied = await configure({});
    assert.equal(applied.MEDIA_ROOT, join(process.cwd(), 'media'));
    assert.equal(settings.MEDIA_ROOT, join(process.cwd(), 'media'));
    assert.equal(settings.FILE_UPLOAD_PERMISSIONS, 0o644);
  });

  test('relative paths resolve against BASE_DIR (or the baseDir option)', async () => {
    await configure({ BASE_DIR: scratch, MEDIA_ROOT: 'm', DATABASE: 'data/db.json' });
    assert.equal(settings.MEDIA_ROOT, join(scratch, 'm'));
    assert.equal(settings.DATABASE, join(scratch, 'data/db.json'));
    await configure({ MEDIA_ROOT: 'other' }, { baseDir: scratch });
    assert.equal(settings.MEDIA_ROOT, join(scratch, 'other'));
    assert.equal(settings.BASE_DIR, scratch);
    await configure({ MEDIA_ROOT: '/absolute/media' });
    assert.equal(settings.MEDIA_ROOT, '/absolute/media');
    await configure({});
  });

  test('settings are read-only; defineSettings() returns its argument', () => {
    assert.throws(() => {
      (settings as unknown as Record<string, unknown>).MEDIA_ROOT = '/elsewhere';
    }, ImproperlyConfigured);
    const values = { MEDIA_URL: '/m/' };
    assert.equal(defineSettings(values), values);
  });

  test('MEDIA_URL may be null or an absolute URL ending with a slash', async () => {
    await configure({ MEDIA_URL: null });
    assert.equal(settings.MEDIA_URL, null);
    await configure({ MEDIA_URL: 'https://cdn.example.com/media/' });
    assert.equal(new FileSystemStorage({ location: scratch }).url('a b.txt'), 'https://cdn.example.com/media/a%20b.txt');
    await configure({});
  });
});

describe('ImproperlyConfigured names the key', () => {
  test('MEDIA_URL without a trailing slash', async () => {
    await assertImproperlyConfigured({ MEDIA_URL: '/media' }, 'MEDIA_URL');
    await assertImproperlyConfigured({ MEDIA_URL: 42 as never }, 'MEDIA_URL');
  });

  test('MEDIA_ROOT that is not a path', async () => {
    await assertImproperlyConfigured({ MEDIA_ROOT: 42 as never }, 'MEDIA_ROOT');
    await assertImproperlyConfigured({ MEDIA_ROOT: '' }, 'MEDIA_ROOT');
  });

  test('an unknown backend', async () => {
    await assertImproperlyConfigured({ STORAGES: { default: { BACKEND: 'nope' } } }, 'STORAGES.default.BACKEND');
    await assertImproperlyConfigured({ STORAGES: { default: { BACKEND: 'nope' } } }, "'nope'");
    await assertImproperlyConfigured({ DEFAULT_FILE_STORAGE: 'nope' }, 'DEFAULT_FILE_STORAGE');
    await assertImproperlyConfigured({ STORAGES: { default: {} as never } }, 'STORAGES.default.BACKEND');
    await assertImproperlyConfigured({ STORAGES: { default: 'memory' as never } }, 'STORAGES.default');
    await assertImproperlyConfigured({ STORAGES: { default: { BACKEND: 'memory', OPTIONS: [] as never } } }, 'STORAGES.default.OPTIONS');
    await assertImproperlyConfigured({ STORAGES: [] as never }, 'STORAGES');
  });

  test('DEFAULT_FILE_STORAGE together with STORAGES.default', async () => {
    await assertImproperlyConfigured(
      { DEFAULT_FILE_STORAGE: 'memory', STORAGES: { default: { BACKEND: 'filesystem' } } },
      /DEFAULT_FILE_STORAGE.*STORAGES|STORAGES.*DEFAULT_FILE_STORAGE/,
    );
  });

  test('FILE_UPLOAD_PERMISSIONS, FILE_UPLOAD_DIRECTORY_PERMISSIONS and FILE_UPLOAD_MAX_SIZE of the wrong kind', async () => {
    await assertImproperlyConfigured({ FILE_UPLOAD_PERMISSIONS: 'x' as never }, 'FILE_UPLOAD_PERMISSIONS');
    await assertImproperlyConfigured({ FILE_UPLOAD_PERMISSIONS: 0o10000 }, 'FILE_UPLOAD_PERMISSIONS');
    await assertImproperlyConfigured({ FILE_UPLOAD_DIRECTORY_PERMISSIONS: 1.5 }, 'FILE_UPLOAD_DIRECTORY_PERMISSIONS');
    await assertImproperlyConfigured({ FILE_UPLOAD_MAX_SIZE: -1 }, 'FILE_UPLOAD_MAX_SIZE');
    await assertImproperlyConfigured({ FILE_UPLOAD_MAX_SIZE: '10MB' as never }, 'FILE_UPLOAD_MAX_SIZE');
  });

  test('DATABASE, MODELS and SECRET_KEY of the wrong kind', async () => {
    await assertImproperlyConfigured({ DATABASE: 7 as never }, 'DATABASE');
    await assertImproperlyConfigured({ MODELS: 'models.ts' as never }, 'MODELS');
    await assertImproperlyConfigured({ SECRET_KEY: 'short' }, 'SECRET_KEY');
  });

  test('null permissions and sizes are allowed', async () => {
    await configure({ FILE_UPLOAD_PERMISSIONS: null, FILE_UPLOAD_DIRECTORY_PERMISSIONS: 0o750, FILE_UPLOAD_MAX_SIZE: 0 });
    assert.equal(settings.FILE_UPLOAD_PERMISSIONS, null);
    assert.equal(settings.FILE_UPLOAD_DIRECTORY_PERMISSIONS, 0o750);
    assert.equal(settings.FILE_UPLOAD_MAX_SIZE, 0);
    await configure({});
  });
});

describe('settings files', () => {
  test('filefield.config.ts in the project folder: found, loaded, paths resolved against its folder', async () => {
    const folder = project({ 'filefield.config.ts': "export default { MEDIA_ROOT: 'uploads', MEDIA_URL: '/files/' };\n" });
    const found = findSettingsFile({ cwd: folder });
    assert.deepEqual(found, { file: join(folder, 'filefield.config.ts'), source: 'project' });
    const loaded = await loadSettings({ cwd: folder });
    try {
      assert.equal(loaded.MEDIA_ROOT, join(folder, 'uploads'));
      assert.equal(settings.MEDIA_ROOT, join(folder, 'uploads'));
      assert.equal(settings.MEDIA_URL, '/files/');
      assert.equal(settings.DATABASE, join(folder, 'db.json'));
      assert.equal(settings.BASE_DIR, folder);
      assert.equal(settings.SETTINGS_FILE, join(folder, 'filefield.config.ts'));
      const storage = storages.get('default') as FileSystemStorage;
      assert.ok(storage instanceof FileSystemStorage);
      assert.equal(storage.location, join(folder, 'uploads'));
      assert.equal(storage.url('a.txt'), '/files/a.txt');
    } finally {
      await configure({});
    }
  });

  test('a .mjs settings file in Django style (upper-case named exports) works too', async () => {
    const folder = project({ 'filefield.config.mjs': "export const MEDIA_URL = '/django-style/';\nexport const lowercase = 1;\n" });
    assert.equal(findSettingsFile({ cwd: folder }).source, 'project');
    try {
      await loadSettings({ cwd: folder });
      assert.equal(settings.MEDIA_URL, '/django-style/');
      assert.equal(settings.lowercase, undefined);
    } finally {
      await configure({});
    }
  });

  test('FILEFIELD_SETTINGS names the settings file; an explicit file option wins over it', async () => {
    const elsewhere = project({ 'my-settings.ts': "export default { MEDIA_URL: '/from-env/', MEDIA_ROOT: 'env-media' };\n" });
    const option = project({ 'option.ts': "export default { MEDIA_URL: '/from-option/' };\n" });
    const cwd = project({ 'filefield.config.ts': "export default { MEDIA_URL: '/from-project/' };\n" });
    process.env.FILEFIELD_SETTINGS = join(elsewhere, 'my-settings.ts');
    try {
      assert.deepEqual(findSettingsFile({ cwd }), { file: join(elsewhere, 'my-settings.ts'), source: 'environment' });
      await loadSettings({ cwd });
      assert.equal(settings.MEDIA_URL, '/from-env/');
      assert.equal(settings.MEDIA_ROOT, join(elsewhere, 'env-media'), 'relative to the settings file, not the cwd');

      assert.deepEqual(findSettingsFile({ cwd, file: join(option, 'option.ts') }), { file: join(option, 'option.ts'), source: 'option' });
      await loadSettings({ cwd, file: join(option, 'option.ts') });
      assert.equal(settings.MEDIA_URL, '/from-option/');
    } finally {
      delete process.env.FILEFIELD_SETTINGS;
      await configure({});
    }
    // A relative FILEFIELD_SETTINGS is relative to the cwd.
    process.env.FILEFIELD_SETTINGS = 'my-settings.ts';
    try {
      assert.equal(findSettingsFile({ cwd: elsewhere }).file, join(elsewhere, 'my-settings.ts'));
    } finally {
      delete process.env.FILEFIELD_SETTINGS;
    }
  });

  test('no settings file anywhere: the bundled example project', async () => {
    const empty = project({});
    const found = findSettingsFile({ cwd: empty });
    assert.equal(found.source, 'example');
    assert.equal(found.file, exampleSettingsFile);
    assert.ok(fs.existsSync(found.file), 'the example settings file exists');
  });

  test('a missing or broken settings file is ImproperlyConfigured', async () => {
    const folder = project({
      'throws.ts': "throw new Error('boom in settings');\n",
      'not-object.ts': 'export default 42;\n',
      'bad-value.ts': "export default { MEDIA_URL: '/no-slash' };\n",
    });
    await assert.rejects(loadSettings({ cwd: folder, file: 'missing.ts' }), (error: unknown) => {
      assert.ok(error instanceof ImproperlyConfigured);
      assert.match(error.message, /missing\.ts does not exist/);
      return true;
    });
    await assert.rejects(loadSettings({ cwd: folder, file: 'throws.ts' }), (error: unknown) => {
      assert.ok(error instanceof ImproperlyConfigured);
      assert.match(error.message, /could not be loaded: boom in settings/);
      return true;
    });
    await assert.rejects(loadSettings({ cwd: folder, file: 'not-object.ts' }), ImproperlyConfigured);
    await assert.rejects(loadSettings({ cwd: folder, file: 'bad-value.ts' }), (error: unknown) => {
      assert.ok(error instanceof ImproperlyConfigured);
      assert.match(error.message, /MEDIA_URL/);
      return true;
    });
    assert.equal(settings.MEDIA_URL, '/media/', 'the previous settings stay');
  });
});

describe('storages and defaultStorage', () => {
  test("storages.get('default') is one instance; a settings change makes a new one", async () => {
    await configure({});
    const first = storages.get('default');
    assert.equal(storages.get('default'), first);
    assert.equal(storages.get(), first);
    assert.ok(first instanceof FileSystemStorage);
    assert.equal(first.alias, 'default');
    await configure({ MEDIA_URL: '/changed/' });
    const second = storages.get('default');
    assert.notEqual(second, first);
    assert.equal(second.url('x'), '/changed/x');
    await configure({});
  });

  test('an unknown alias: InvalidStorageError "Could not find config for …"', () => {
    assert.throws(() => storages.get('nope'), (error: unknown) => {
      assert.ok(error instanceof InvalidStorageError);
      assert.ok(error instanceof ImproperlyConfigured);
      assert.equal(error.message, "Could not find config for 'nope' in settings.STORAGES.");
      return true;
    });
  });

  test('built-in aliases, OPTIONS (locations relative to BASE_DIR), DEFAULT_FILE_STORAGE and classes as BACKEND', async () => {
    await configure({
      BASE_DIR: scratch,
      STORAGES: {
        default: { BACKEND: 'memory', OPTIONS: { baseUrl: '/mem/' } },
        disk: { BACKEND: 'filesystem', OPTIONS: { location: 'disk-files', baseUrl: '/disk/' } },
        klass: { BACKEND: InMemoryStorage },
      },
    });
    try {
      assert.ok(storages.get('default') instanceof InMemoryStorage);
      assert.equal(storages.get('default').url('a'), '/mem/a');
      const disk = storages.get('disk') as FileSystemStorage;
      assert.ok(disk instanceof FileSystemStorage);
      assert.equal(disk.location, join(scratch, 'disk-files'));
      assert.ok(storages.get('klass') instanceof InMemoryStorage);
      assert.deepEqual(storages.aliases(), ['default', 'disk', 'klass']);

      await configure({ DEFAULT_FILE_STORAGE: 'memory' });
      assert.ok(storages.get('default') instanceof InMemoryStorage);
    } finally {
      await configure({});
    }
  });

  test('a StorageHandler with explicit backends ignores the settings', () => {
    const handler = new StorageHandler({ only: { BACKEND: 'memory' } });
    assert.ok(handler.get('only') instanceof InMemoryStorage);
    assert.throws(() => handler.get('default'), InvalidStorageError);
  });

  const customBackendSource = [
    `import { InMemoryStorage } from ${JSON.stringify(indexUrl)};`,
    'export class CustomStorage extends InMemoryStorage {',
    '  readonly tag: string;',
    '  constructor(options: { tag?: string; baseUrl?: string } = {}) {',
    '    super({ baseUrl: options.baseUrl });',
    "    this.tag = options.tag ?? 'none';",
    '  }',
    '}',
    '',
  ].join('\n');

  test('a custom backend in a .mts module loads whatever the package type', async () => {
    const folder = project({
      'custom.mts': customBackendSource,
      'filefield.config.ts': "export default { DEFAULT_FILE_STORAGE: './custom.mts#CustomStorage' };\n",
    });
    try {
      await loadSettings({ cwd: folder });
      assert.equal(storages.get('default').constructor.name, 'CustomStorage');
      assert.equal((storages.get('default') as unknown as { tag: string }).tag, 'none');
    } finally {
      await configure({});
    }
  });

  test('a custom backend in a folder that is no ES module package still shares this copy of filefield', async () => {
    // No package.json: Node alone would load custom.ts as CommonJS, with a second copy of filefield.
    const folder = project({
      'custom.ts': customBackendSource,
      'filefield.config.ts': "export default { DEFAULT_FILE_STORAGE: './custom.ts#CustomStorage' };\n",
    });
    try {
      await loadSettings({ cwd: folder });
      assert.equal(storages.get('default').constructor.name, 'CustomStorage');
      assert.ok(storages.get('default') instanceof Storage);
    } finally {
      await configure({});
    }
  });

  test('models of a project that is no ES module package are this copy\'s Models (the shell preloads them)', async () => {
    const folder = project({
      'models.ts': `import { Model, CharField } from ${JSON.stringify(indexUrl)};\nexport class Note extends Model { static fields = { title: new CharField() }; }\n`,
      'filefield.config.ts': "export default { MODELS: ['./models.ts'] };\n",
    });
    try {
      await loadSettings({ cwd: folder });
      const { Model } = await import('../src/index.ts');
      const { importModule } = await import('../src/conf/load.ts');
      const module = await importModule(settings.MODELS[0]!);
      assert.ok((module.Note as { prototype: unknown }).prototype instanceof Model);
    } finally {
      await configure({});
    }
  });

  test('importModule takes a package name or URL as well as a project path (MODELS may list packages)', async () => {
    const { importModule } = await import('../src/conf/load.ts');
    assert.equal(typeof (await importModule('node:path')).join, 'function');
    assert.equal(typeof (await importModule(indexUrl)).Model, 'function');
  });

  test('a custom backend named "./custom.ts#CustomStorage" is imported by loadSettings', async () => {
    const folder = project({
      'package.json': '{ "type": "module" }\n',
      'custom.ts': customBackendSource,
      'filefield.config.ts': [
        'export default {',
        "  STORAGES: { default: { BACKEND: './custom.ts#CustomStorage', OPTIONS: { tag: 'custom-tag', baseUrl: '/custom/' } } },",
        '};',
        '',
      ].join('\n'),
    });
    try {
      await loadSettings({ cwd: folder });
      const { importModule } = await import('../src/conf/load.ts');
      const { CustomStorage } = (await importModule(join(folder, 'custom.ts'))) as { CustomStorage: new () => Storage };
      const storage = storages.get('default');
      assert.ok(storage instanceof CustomStorage, `got ${storage.constructor.name}`);
      assert.equal((storage as unknown as { tag: string }).tag, 'custom-tag');
      assert.equal(settings.STORAGES.default!.BACKEND, `${join(folder, 'custom.ts')}#CustomStorage`);
      assert.equal(await defaultStorage.save('custom.txt', new ContentFile('via default')), 'custom.txt');
      assert.equal(await storage.exists('custom.txt'), true);
      assert.equal(defaultStorage.url('custom.txt'), '/custom/custom.txt');
    } finally {
      await configure({});
    }
  });

  test('a module that cannot be imported, or lacks the export: InvalidStorageError "Could not find backend …"', async () => {
    const folder = project({
      'no-export.ts': 'export const Something = 1;\n',
      'not-storage.ts': 'export class NotStorage {}\n',
      'throws.ts': "throw new Error('backend module failed');\n",
      'missing.config.ts': "export default { STORAGES: { default: { BACKEND: './missing.ts#Nope' } } };\n",
      'no-export.config.ts': "export default { STORAGES: { default: { BACKEND: './no-export.ts#Nope' } } };\n",
      'not-storage.config.ts': "export default { STORAGES: { default: { BACKEND: './not-storage.ts#NotStorage' } } };\n",
      'throws.config.ts': "export default { STORAGES: { default: { BACKEND: './throws.ts#Storage' } } };\n",
    });
    const cases: Array<[string, string, RegExp]> = [
      ['missing.config.ts', 'missing.ts#Nope', /Cannot find module|ERR_MODULE_NOT_FOUND|not find/i],
      ['no-export.config.ts', 'no-export.ts#Nope', /does not export a Storage class named "Nope"/],
      ['not-storage.config.ts', 'not-storage.ts#NotStorage', /does not export a Storage class named "NotStorage"/],
      ['throws.config.ts', 'throws.ts#Storage', /backend module failed/],
    ];
    for (const [file, backend, detail] of cases) {
      await assert.rejects(loadSettings({ cwd: folder, file }), (error: unknown) => {
        assert.ok(error instanceof InvalidStorageError, `${file}: expected InvalidStorageError, got ${String(error)}`);
        assert.ok(
          error.message.startsWith(`Could not find backend '${join(folder, backend)}': `),
          `${file}: ${error.message}`,
        );
        assert.match(error.message, detail);
        return true;
      });
    }
    // The settings in force before stay in force.
    assert.equal(settings.SETTINGS_FILE, null);
    assert.ok(storages.get('default') instanceof FileSystemStorage);

    // configure() reports the same error through its promise.
    await assert.rejects(
      configure({ STORAGES: { default: { BACKEND: './missing.ts#Nope' } } }, { baseDir: folder }),
      InvalidStorageError,
    );
    await configure({});
  });

  test('defaultStorage follows configure() changes', async () => {
    const first = fs.mkdtempSync(join(scratch, 'media-a-'));
    const second = fs.mkdtempSync(join(scratch, 'media-b-'));
    try {
      await configure({ MEDIA_ROOT: first });
      assert.ok(defaultStorage instanceof FileSystemStorage);
      assert.ok(defaultStorage instanceof Storage);
      assert.equal((defaultStorage as FileSystemStorage).location, first);
      assert.equal(await defaultStorage.save('a.txt', new ContentFile('a')), 'a.txt');
      assert.ok(fs.existsSync(join(first, 'a.txt')));

      await configure({ MEDIA_ROOT: second, MEDIA_URL: '/second/' });
      assert.equal((defaultStorage as FileSystemStorage).location, second);
      assert.equal(defaultStorage.url('a.txt'), '/second/a.txt');
      assert.equal(await defaultStorage.exists('a.txt'), false);
      assert.equal(await defaultStorage.save('b.txt', new ContentFile('b')), 'b.txt');
      assert.ok(fs.existsSync(join(second, 'b.txt')));

      await configure({ STORAGES: { default: { BACKEND: 'memory' } } });
      assert.ok(defaultStorage instanceof InMemoryStorage);
      assert.equal(await defaultStorage.exists('b.txt'), false);
      assert.equal(await defaultStorage.save('c.txt', new ContentFile('c')), 'c.txt');
      assert.equal(await storages.get('default').exists('c.txt'), true);
      assert.ok(!fs.existsSync(join(second, 'c.txt')));
    } finally {
      await configure({});
    }
  });
});
