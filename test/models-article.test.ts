// The article's shell session, end to end, through the public API and the example project's Profile:
// open a real image, save it into the picture field, and read name/path/url/size/dimensions back, both on
// the instance that saved it and on one loaded from the database (which must answer from the row alone).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { configure, File, FileSystemStorage, ImageFieldFile, settings, storages } from '../src/index.ts';
import { Profile } from '../example/models.ts';
import { forEachEngine, projectPerTest } from './support/fixtures.ts';

const FIXTURE = new URL('../fixtures/image.png', import.meta.url).pathname;
const FIXTURE_BYTES = fs.readFileSync(FIXTURE);
const UUID_PNG = /^profile_pics\/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.png$/;

forEachEngine((engine) => {
  const project = projectPerTest('filefield-article-', engine, { shared: true });

  describe("the article's session", () => {
    let saved: Profile;
    let storedName: string;

    test('profile.picture.save(name, new File(fd)) stores the bytes under profile_pics/<uuid4>.png', async () => {
      const fd = fs.openSync(FIXTURE, 'r');
      try {
        const profile = new Profile();
        assert.equal(profile.picture.name, '');
        assert.ok(profile.picture instanceof ImageFieldFile);
        const result = await profile.picture.save('my-image.png', new File(fd));
        assert.equal(result, profile.picture, 'save() resolves to the FieldFile');
        saved = profile;
        storedName = profile.picture.name;

        assert.match(storedName, UUID_PNG);
        assert.notEqual(profile.id, null, 'save() also saved the row');
        assert.equal(profile.picture.path, join(project.mediaRoot, storedName));
        assert.equal(profile.picture.path, join(settings.MEDIA_ROOT, ...storedName.split('/')));
        assert.deepEqual(fs.readFileSync(profile.picture.path), FIXTURE_BYTES);
        assert.equal(profile.picture.url, '/media/' + storedName);
        assert.equal(profile.picture.width, 64);
        assert.equal(profile.picture.height, 48);
        assert.equal(profile.picture.contentType, 'image/png');
        assert.equal(profile.picture.size, FIXTURE_BYTES.byteLength);
      } finally {
        fs.closeSync(fd);
      }
    });

    test('(await Profile.objects.last()).picture.url is the same URL', async () => {
      const last = await Profile.objects.last();
      assert.ok(last);
      assert.equal(last.id, saved.id);
      assert.ok(last.picture instanceof ImageFieldFile);
      assert.equal(last.picture.url, saved.picture.url);
      assert.equal(last.picture.name, storedName);
      assert.equal(last.picture.path, join(project.mediaRoot, storedName));
      assert.ok(last.picture.equals(saved.picture));
      assert.equal(String(last.picture), storedName);
    });

    test('a second upload of the same name gets a different uuid name; last() is the newer one', async () => {
      const fd = fs.openSync(FIXTURE, 'r');
      try {
        const other = new Profile({ name: 'second' });
        await other.picture.save('my-image.png', new File(fd));
        assert.match(other.picture.name, UUID_PNG);
        assert.notEqual(other.picture.name, storedName);
        const last = await Profile.objects.last();
        assert.equal(last?.id, other.id);
        assert.equal(last?.picture.url, '/media/' + other.picture.name);
        assert.equal((await Profile.objects.first())?.picture.name, storedName);
        assert.equal(await Profile.objects.count(), 2);
      } finally {
        fs.closeSync(fd);
      }
    });

    test('a loaded instance answers size, width, height, contentType and url from the row (the file is gone)', async () => {
      const loaded = await Profile.objects.get(saved.id!);
      fs.rmSync(join(project.mediaRoot, storedName));
      assert.equal(fs.existsSync(join(project.mediaRoot, storedName)), false);

      // Any storage call would now fail or differ; count them too, to be sure none is made.
      const storage = storages.get('default') as FileSystemStorage;
      const calls: string[] = [];
      const originals = new Map<string, unknown>();
      for (const method of ['open', 'size', 'exists', 'url', 'getCreatedTime', 'getModifiedTime', 'listdir'] as const) {
        const original = storage[method] as (...args: unknown[]) => unknown;
        originals.set(method, original);
        Object.defineProperty(storage, method, {
          configurable: true,
          value: (...args: unknown[]) => {
            calls.push(method);
            return original.apply(storage, args);
          },
        });
      }
      try {
        assert.equal(loaded.picture.size, FIXTURE_BYTES.byteLength);
        assert.equal(loaded.picture.width, 64);
        assert.equal(loaded.picture.height, 48);
        assert.equal(loaded.picture.contentType, 'image/png');
        assert.equal(loaded.picture.name, storedName);
        const storageCalls = calls.length;
        assert.equal(storageCalls, 0, `no storage call for size/width/height/contentType (made: ${calls.join(', ')})`);
        // url is computed from the name by the storage, without any I/O.
        assert.equal(loaded.picture.url, '/media/' + storedName);
        assert.deepEqual(calls.filter((call) => call !== 'url'), []);
      } finally {
        for (const method of originals.keys()) delete (storage as unknown as Record<string, unknown>)[method];
      }
    });

    test('the saved instance also answers from what it recorded, without the file', async () => {
      assert.equal(saved.picture.size, FIXTURE_BYTES.byteLength);
      assert.equal(saved.picture.width, 64);
      assert.equal(saved.picture.height, 48);
      assert.equal(saved.picture.contentType, 'image/png');
      assert.equal(saved.picture.url, '/media/' + storedName);
    });

    test('a File from fs.promises.open (a FileHandle) works the same', async () => {
      const handle = await fs.promises.open(FIXTURE);
      try {
        const profile = new Profile();
        await profile.picture.save('my-image.png', new File(handle));
        assert.match(profile.picture.name, UUID_PNG);
        assert.deepEqual(fs.readFileSync(profile.picture.path), FIXTURE_BYTES);
        const loaded = await Profile.objects.get(profile.id!);
        assert.equal(loaded.picture.url, profile.picture.url);
        assert.equal(loaded.picture.width, 64);
      } finally {
        await handle.close();
      }
    });

    test('reading the stored picture back through the FieldFile gives the fixture bytes', async () => {
      const fd = fs.openSync(FIXTURE, 'r');
      let profile: Profile;
      try {
        profile = new Profile();
        await profile.picture.save('my-image.png', new File(fd));
      } finally {
        fs.closeSync(fd);
      }
      const loaded = await Profile.objects.last();
      assert.ok(loaded);
      try {
        assert.deepEqual(Buffer.from(await loaded.picture.read()), FIXTURE_BYTES);
      } finally {
        await loaded.picture.close();
      }
    });
  });
});
