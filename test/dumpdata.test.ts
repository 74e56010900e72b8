// Moving a project from the JSON engine to PostgreSQL with Django's commands: `filefield dumpdata > rows.json`
// then `filefield loaddata rows.json`, ids kept, the sequences moved past them, files found by name.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, type CliRun } from './support/cli.ts';
import { startPostgres, type PostgresCluster } from './support/postgres.ts';

const MODELS = fileURLToPath(new URL('../example/models.ts', import.meta.url));
const IMAGE = fileURLToPath(new URL('../fixtures/image.png', import.meta.url));

let cluster: PostgresCluster;
let root: string;

function cli(args: string[], settings: string): Promise<CliRun> {
  return runCli(root, [...args, '--settings', settings]);
}

before(async () => {
  root = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), 'filefield-dumpdata-')));
  cluster = await startPostgres();
  const url = await cluster.createDatabase();
  fs.writeFileSync(join(root, 'json.config.ts'), `export default { DATABASE: 'db.json', MODELS: [${JSON.stringify(MODELS)}] };\n`);
  fs.writeFileSync(join(root, 'pg.config.ts'), `export default { DATABASE: ${JSON.stringify(url)}, MODELS: [${JSON.stringify(MODELS)}] };\n`);
});

after(async () => {
  await cluster.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

test('rows dumped from json load into PostgreSQL with their ids; new rows come after them', async () => {
  const seed = await cli(['shell', '-c', [
    `for (const name of ['Ann', 'Bob', 'Cid']) { const p = new Profile({ name }); await p.picture.save('me.png', await File.open(${JSON.stringify(IMAGE)})); }`,
    'await (await Profile.objects.get(2)).delete()',
    "await Profile.objects.create({ name: 'Dee' })",
  ].join('\n')], 'json.config.ts');
  assert.equal(seed.code, 0, seed.stderr);

  const dump = await cli(['dumpdata'], 'json.config.ts');
  assert.equal(dump.code, 0, dump.stderr);
  const objects = JSON.parse(dump.stdout) as { model: string; pk: number; fields: Record<string, unknown> }[];
  assert.deepEqual(objects.map((object) => [object.model, object.pk, object.fields.name]), [['Profile', 1, 'Ann'], ['Profile', 3, 'Cid'], ['Profile', 4, 'Dee']]);
  assert.match(String(objects[0]!.fields.picture), /^profile_pics\/[0-9a-f-]{36}\.png$/);
  assert.equal(objects[0]!.fields.picture_width, 64);
  fs.writeFileSync(join(root, 'rows.json'), dump.stdout);

  assert.equal((await cli(['migrate'], 'pg.config.ts')).code, 0);
  const load = await cli(['loaddata', 'rows.json'], 'pg.config.ts');
  assert.equal(load.code, 0, load.stderr);
  assert.equal(load.stdout, 'Installed 3 object(s) from 1 fixture(s)\n');

  const check = await cli(['shell', '-c', [
    'const ann = await Profile.objects.get(1)',
    "console.log(JSON.stringify([ann.name, ann.picture.width, ann.picture.height, ann.picture.contentType, ann.picture.url.startsWith('/media/profile_pics/')]))",
    "console.log((await Profile.objects.create({ name: 'Eve' })).id)",
    'console.log(JSON.stringify((await Profile.objects.all()).map((p) => p.id)))',
  ].join('\n')], 'pg.config.ts');
  assert.equal(check.stdout, '["Ann",64,48,"image/png",true]\n5\n[1,3,4,5]\n', check.stderr);

  const again = await cli(['dumpdata', 'Profile'], 'pg.config.ts');
  assert.deepEqual((JSON.parse(again.stdout) as unknown[]).slice(0, 3), objects, 'the same rows, column for column');
});

test('a bad fixture is refused, naming the file and the object, and nothing is loaded', async () => {
  fs.writeFileSync(join(root, 'bad.json'), JSON.stringify([
    { model: 'Profile', pk: 10, fields: { name: 'ok' } },
    { model: 'Profile', pk: 11, fields: { nmae: 'typo' } },
  ]));
  const load = await cli(['loaddata', 'bad.json'], 'pg.config.ts');
  assert.equal(load.code, 1);
  assert.match(load.stderr, new RegExp(`^filefield loaddata: Error: ${join(root, 'bad.json')}, object 2: Profile has no column 'nmae' \\(columns: name, picture, `));
  const count = await cli(['shell', '-c', 'console.log(await Profile.objects.filter({ id__gte: 10 }).count())'], 'pg.config.ts');
  assert.equal(count.stdout, '0\n');
  const unknown = await cli(['dumpdata', 'Nope'], 'pg.config.ts');
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /Unknown model 'Nope' \(models: Profile\)/);
});
