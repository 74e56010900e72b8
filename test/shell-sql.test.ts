// The shell on the SQL engines: `--print-sql` prints each statement with its parameters and time, and
// `--sandbox` rolls every row change back when the session ends (and still discards the files).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliProject, runCli as cli } from './support/cli.ts';

const MODELS = fileURLToPath(new URL('../example/models.ts', import.meta.url));
const IMAGE = fileURLToPath(new URL('../fixtures/image.png', import.meta.url));

for (const engine of ['sqlite', 'postgresql'] as const) {
  describe(`on ${engine}`, () => {
    const project = cliProject('filefield-shell-sql-', engine, [MODELS], async (root) => {
      const migrated = await cli(root, ['migrate']);
      assert.equal(migrated.code, 0, migrated.stderr);
      const seeded = await cli(root, ['shell', '-c', "await Profile.objects.create({ name: 'kept' })"]);
      assert.equal(seeded.code, 0, seeded.stderr);
    });

    test('--print-sql prints each statement, its parameters and its time', async () => {
      const run = await cli(project.root, ['shell', '--print-sql', '-c', "console.log('found', (await Profile.objects.filter({ name__startswith: 'ke' })).length)"]);
      assert.equal(run.code, 0, run.stderr);
      const like = engine === 'sqlite' ? '"name" glob \\?' : '"name" like \\$1';
      assert.match(run.stdout, new RegExp(`select \\* from "Profile" where ${like} order by "id" asc;\\n  params \\[ '${engine === 'sqlite' ? 'ke\\*' : 'ke%'}' \\]\\n  \\[${engine}: \\d+\\.\\d{3} ms\\]\\nfound 1\\n`));
    });

    test('--sandbox rolls the row changes back at the end, and keeps no file', async () => {
      const script = [
        "const profile = new Profile({ name: 'sandboxed' })",
        `await profile.picture.save('me.png', await File.open(${JSON.stringify(IMAGE)}))`,
        "await Profile.objects.filter({ name: 'kept' }).update({ name: 'changed' })",
        "console.log(await Profile.objects.count(), (await Profile.objects.first()).name)",
      ].join('\n');
      const run = await cli(project.root, ['shell', '--sandbox', '-c', script]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, '2 changed\n', 'the session sees its own changes');
      const after = await cli(project.root, ['shell', '-c', "console.log(await Profile.objects.count(), (await Profile.objects.first()).name, await Profile.objects.filter({ picture__startswith: 'profile_pics/' }).exists())"]);
      assert.equal(after.stdout, '1 kept false\n', after.stderr);
      assert.equal(fs.existsSync(join(project.root, 'media')), false, 'no file in the project');
    });
  });
}
