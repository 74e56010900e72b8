// The shell on the SQL engines: `--print-sql` prints each statement with its parameters and time, and
// `--sandbox` rolls every row change back when the session ends (and still discards the files).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres, type PostgresCluster } from './support/postgres.ts';

const CLI = fileURLToPath(new URL('../bin/filefield.js', import.meta.url));
const MODELS = fileURLToPath(new URL('../example/models.ts', import.meta.url));
const IMAGE = fileURLToPath(new URL('../fixtures/image.png', import.meta.url));

function cli(cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

for (const engine of ['sqlite', 'postgresql'] as const) {
  describe(`on ${engine}`, () => {
    let cluster: PostgresCluster | null = null;
    let root: string;

    before(async () => {
      root = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), 'filefield-shell-sql-')));
      if (engine === 'postgresql') cluster = await startPostgres();
      const database = engine === 'sqlite' ? 'db.sqlite3' : await cluster!.createDatabase();
      fs.writeFileSync(join(root, 'filefield.config.ts'), `export default { DATABASE: ${JSON.stringify(database)}, MODELS: [${JSON.stringify(MODELS)}] };\n`);
      const migrated = await cli(root, ['migrate']);
      assert.equal(migrated.code, 0, migrated.stderr);
      const seeded = await cli(root, ['shell', '-c', "await Profile.objects.create({ name: 'kept' })"]);
      assert.equal(seeded.code, 0, seeded.stderr);
    });

    after(async () => {
      await cluster?.stop();
      fs.rmSync(root, { recursive: true, force: true });
    });

    test('--print-sql prints each statement, its parameters and its time', async () => {
      const run = await cli(root, ['shell', '--print-sql', '-c', "console.log('found', (await Profile.objects.filter({ name__startswith: 'ke' })).length)"]);
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
      const run = await cli(root, ['shell', '--sandbox', '-c', script]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, '2 changed\n', 'the session sees its own changes');
      const after = await cli(root, ['shell', '-c', "console.log(await Profile.objects.count(), (await Profile.objects.first()).name, await Profile.objects.filter({ picture__startswith: 'profile_pics/' }).exists())"]);
      assert.equal(after.stdout, '1 kept false\n', after.stderr);
      assert.equal(fs.existsSync(join(root, 'media')), false, 'no file in the project');
    });
  });
}
