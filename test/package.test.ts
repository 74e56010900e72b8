// The package as users get it: `npm pack` (which builds it), installed into a fresh project outside the
// repository, then used from plain node (ESM import and require()), compiled by tsc (strict, skipLibCheck off,
// nodenext and bundler) without the optional SDKs, and through its CLI (init, shell), in a TypeScript and in a
// plain JavaScript project. (package-git.test.ts installs it from git.)
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inFolder, node, npm, writeFiles } from './support/consumer.ts';

const REPOSITORY = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(REPOSITORY, 'node_modules/typescript/bin/tsc');

let scratch: string;
let consumer: string;

const PUBLIC_NAMES = [
  'File', 'ContentFile', 'ImageFile', 'Storage', 'FileSystemStorage', 'InMemoryStorage', 'storages', 'defaultStorage', 'Model',
  'FileField', 'ImageField', 'CharField', 'IntegerField', 'FieldFile', 'ImageFieldFile', 'SuspiciousFileOperation',
  'ValidationError', 'ImproperlyConfigured', 'getValidFilename', 'validateFileName', 'filepathToUri', 'configure', 'settings',
  'defineSettings',
];

/** Saves the package's sample image through a model, in code: what an application does. */
const APPLICATION = `
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { File, ImageField, Model, configure, getValidFilename, type ImageFieldFile } from 'filefield';
import type { S3StorageOptions } from 'filefield/storage/s3';
import type { AzureStorage } from 'filefield/storage/azure';
import type { SFTPStorage } from 'filefield/storage/sftp';

class Avatar extends Model {
  static override fields = { picture: new ImageField({ uploadTo: 'avatars/' }) };
  declare picture: ImageFieldFile;
}

const options: S3StorageOptions = { bucket: 'typed-without-the-sdk' };
const remote: Array<AzureStorage | SFTPStorage> = [];
await configure({ BASE_DIR: process.cwd(), MEDIA_ROOT: 'app-media', DATABASE: 'app-db.json' });
const sample = createRequire(import.meta.url).resolve('filefield/package.json').replace(/package\\.json$/, 'fixtures/image.png');
const avatar = new Avatar();
await avatar.picture.save('me.png', new File(fs.openSync(sample, 'r')));
const width: number | null = avatar.picture.width;
console.log(JSON.stringify({ name: avatar.picture.name, width, valid: getValidFilename('a b.png'), bucket: options.bucket, remote: remote.length }));
`;

const TSCONFIG = (options: Record<string, unknown>, include: string[]) => JSON.stringify({
  compilerOptions: { strict: true, skipLibCheck: false, target: 'ES2022', types: ['node'], noImplicitOverride: true, ...options },
  include,
});

/** The TypeScript modules shown in the README and docs (whole modules: not fragments, not lines typed at the prompt). */
function shownModules(): Record<string, string> {
  const modules: Record<string, string> = {};
  const documents = ['README.md', ...fs.readdirSync(join(REPOSITORY, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];
  for (const document of documents) {
    const text = fs.readFileSync(join(REPOSITORY, document), 'utf8');
    for (const match of text.matchAll(/```ts\n([\s\S]*?)```/g)) {
      if (!/^(\/\/.*\n)*import /.test(match[1]!)) continue;
      const line = text.slice(0, match.index).split('\n').length;
      modules[`shown/${document.replace(/[/.]/g, '_')}_${line}.ts`] = match[1]!;
    }
  }
  assert.ok(Object.keys(modules).length >= 5, `found ${Object.keys(modules).join(', ')}`);
  return modules;
}

before(async () => {
  scratch = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), 'filefield-package-')));
  const [{ filename }] = JSON.parse(await npm(REPOSITORY, 'pack', '--json', '--pack-destination', scratch)) as [{ filename: string }];
  consumer = join(scratch, 'consumer');
  writeFiles(consumer, { 'package.json': '{ "name": "consumer", "private": true, "type": "module" }\n' });
  await npm(consumer, 'install', join(scratch, filename), '@types/node@20');
});

after(() => fs.rmSync(scratch, { recursive: true, force: true }));

describe('the packed package, installed in a fresh project', () => {
  test('ships the compiled code, types, LICENSE, docs, the example and its sample image, not the tests', () => {
    const root = join(consumer, 'node_modules/filefield');
    for (const file of ['dist/index.js', 'dist/index.d.ts', 'dist/index.js.map', 'dist/cli/main.js', 'LICENSE', 'README.md', 'docs/shell.md', 'example/models.ts', 'fixtures/image.png']) {
      assert.ok(fs.existsSync(join(root, file)), file);
    }
    assert.equal(fs.existsSync(join(root, 'test')), false);
    assert.equal(fs.existsSync(join(root, 'dist/.tsbuildinfo')), false);
    const manifest = JSON.parse(fs.readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    for (const [subpath, entry] of Object.entries(manifest.exports)) {
      if (subpath === './package.json') continue;
      // ./http is reserved for filefield/http; checked once its sources exist.
      if (subpath === './http' && !fs.existsSync(join(REPOSITORY, 'src/http'))) continue;
      const { types, default: main } = entry as { types: string; default: string };
      assert.ok(fs.existsSync(join(root, types)) && fs.existsSync(join(root, main)), subpath);
    }
  });

  test('plain node imports it (ESM), subpaths included, without the optional SDKs', async () => {
    writeFiles(consumer, {
      'esm.mjs': "import * as filefield from 'filefield';\nimport { S3Storage } from 'filefield/storage/s3';\n"
        + "import { AzureStorage } from 'filefield/storage/azure';\nimport { SFTPStorage } from 'filefield/storage/sftp';\n"
        + 'console.log(JSON.stringify({ names: Object.keys(filefield), remote: [S3Storage.name, AzureStorage.name, SFTPStorage.name] }));\n',
    });
    const { names, remote } = JSON.parse(await node(consumer, 'esm.mjs')) as { names: string[]; remote: string[] };
    for (const name of PUBLIC_NAMES) assert.ok(names.includes(name), name);
    assert.deepEqual(remote, ['S3Storage', 'AzureStorage', 'SFTPStorage']);
    assert.equal(fs.existsSync(join(consumer, 'node_modules/@aws-sdk')), false, 'the optional peers are not installed');
  });

  test('require() loads it (no top-level await in its module graph)', async () => {
    writeFiles(consumer, {
      'cjs.cjs': "const { ContentFile, Model, getValidFilename } = require('filefield');\n"
        + "const { S3Storage } = require('filefield/storage/s3');\n"
        + "console.log(JSON.stringify([typeof Model, new ContentFile('héllo').size, getValidFilename('a b.txt'), S3Storage.name]));\n",
    });
    assert.deepEqual(JSON.parse(await node(consumer, 'cjs.cjs')), ['function', 6, 'a_b.txt', 'S3Storage']);
  });

  for (const [label, options, shown] of [
    // The modules the README and docs show are checked in the same program (one tsc run less).
    ['nodenext', { module: 'nodenext', moduleResolution: 'nodenext', outDir: 'out-nodenext' }, true],
    ['bundler', { module: 'esnext', moduleResolution: 'bundler', outDir: 'out-bundler' }, false],
  ] as const) {
    const what = shown ? ' and the modules the README and docs show' : '';
    test(`tsc compiles a consumer${what} (strict, skipLibCheck off, moduleResolution ${label}) and its output runs`, async () => {
      const include = shown ? ['app.ts', 'shown/*.ts'] : ['app.ts'];
      writeFiles(consumer, { 'app.ts': APPLICATION, ...(shown ? shownModules() : {}), [`tsconfig.${label}.json`]: TSCONFIG(options, include) });
      await node(consumer, TSC, '-p', `tsconfig.${label}.json`);
      const saved = JSON.parse(await node(consumer, join(options.outDir, 'app.js'))) as { name: string; width: number; valid: string };
      assert.match(saved.name, /^avatars\/me(_[A-Za-z0-9]{7})?\.png$/);
      assert.equal(saved.width, 64);
      assert.equal(saved.valid, 'a_b.png');
    });
  }

  test('npx filefield init, then npx filefield shell -c saves the sample image through Profile.picture', async () => {
    const project = join(consumer, 'site');
    writeFiles(project, { 'package.json': '{ "name": "site", "private": true, "type": "module", "dependencies": { "filefield": "*" } }\n' });
    fs.symlinkSync(join(consumer, 'node_modules'), join(project, 'node_modules'));
    assert.match(await inFolder(project, 'npx', ['--no', 'filefield', 'init']), /Wrote filefield\.config\.ts and models\.ts/);
    const output = await inFolder(project, 'npx', ['--no', 'filefield', 'shell', '-c', [
      'const f = fs.openSync(sampleImage)',
      'const profile = new Profile()',
      "await profile.picture.save('my-image.png', new File(f))",
      'console.log(JSON.stringify({ name: profile.picture.name, path: profile.picture.path, last: (await Profile.objects.last()).picture.url }))',
    ].join('\n')]);
    const saved = JSON.parse(output.trim().split('\n').at(-1)!) as { name: string; path: string; last: string };
    assert.match(saved.name, /^profile_pics\/[0-9a-f-]{36}\.png$/);
    assert.equal(saved.path, join(project, 'media', saved.name));
    assert.equal(saved.last, `/media/${saved.name}`);
    assert.deepEqual(fs.readFileSync(saved.path), fs.readFileSync(join(REPOSITORY, 'fixtures/image.png')));
  });

  test('the shell runs a plain JavaScript project (settings and models in .js)', async () => {
    const project = join(consumer, 'plain-js');
    writeFiles(project, {
      'package.json': '{ "name": "plain-js", "private": true, "type": "module" }\n',
      'filefield.config.js': "export default { MEDIA_ROOT: 'uploads', MEDIA_URL: '/uploads/', MODELS: ['./models.js'] };\n",
      'models.js': "import { Model, FileField, CharField } from 'filefield';\n"
        + "export class Document extends Model {\n  static fields = { title: new CharField(), file: new FileField({ uploadTo: 'docs/' }) };\n}\n",
    });
    fs.symlinkSync(join(consumer, 'node_modules'), join(project, 'node_modules'));
    const output = await node(project, join(consumer, 'node_modules/.bin/filefield'), 'shell', '-c',
      "const d = await Document.objects.create({ title: 'notes' }); await d.file.save('notes.txt', new ContentFile('hello')); console.log(d.file.url)");
    assert.equal(output.trim(), '/uploads/docs/notes.txt');
    assert.equal(fs.readFileSync(join(project, 'uploads/docs/notes.txt'), 'utf8'), 'hello');
  });
});
