// `filefield serve` with MEDIA_ROOT set to the project's own folder: the media URL must not publish the
// rows, the settings or the project's hidden files (its secret key above all).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContentFile } from '../src/index.ts';
import { Profile, fixture, rawGet, startServeProject, type ServeProject } from './support/serveProject.ts';
import { readFileSync } from 'node:fs';

let project: ServeProject;

before(async () => {
  project = await startServeProject({ MEDIA_ROOT: '.' });
  const profile = new Profile({ name: 'Ada' });
  await profile.picture.save('ada.png', new ContentFile(readFileSync(fixture('image.png'))));
  writeFileSync(join(project.dir, '.filefield_secret'), 'a-secret-that-signs-urls-0123456789\n');
  writeFileSync(join(project.dir, '.env'), 'AWS_SECRET_ACCESS_KEY=do-not-publish\n');
});

after(async () => {
  await project.close();
});

test('an uploaded file is still served from the project folder', async () => {
  const profile = (await Profile.objects.last())!;
  assert.equal((await rawGet(project.origin, profile.picture.url)).status, 200);
});

for (const name of ['db.json', '.filefield_secret', '.env', '.filefield_secret%00']) {
  test(`${name} is not published (404)`, async () => {
    const response = await rawGet(project.origin, `/media/${name}`);
    assert.equal(response.status, 404);
    assert.doesNotMatch(response.body.toString(), /tables|secret|AWS/);
  });
}
