// `filefield init`, through the built CLI, in temporary folders.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../bin/filefield.js', import.meta.url));
let scratch: string;
let count = 0;

function folderWith(files: Record<string, string>): string {
  const folder = join(scratch, `project-${++count}`);
  fs.mkdirSync(folder);
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(join(folder, name), content);
  return folder;
}

function filefield(cwd: string, ...args: string[]) {
  const env = { ...process.env };
  delete env.FILEFIELD_SETTINGS;
  return spawnSync(process.execPath, [CLI, ...args], { cwd, env, encoding: 'utf8' });
}

before(() => {
  scratch = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), 'filefield-init-')));
});

after(() => fs.rmSync(scratch, { recursive: true, force: true }));

test('init writes the settings, the Profile model and .gitignore lines; the shell then saves a picture with them', () => {
  const folder = folderWith({ '.gitignore': 'node_modules/\n/media/' });
  const init = filefield(folder, 'init');
  assert.equal(init.status, 0, init.stderr);
  assert.match(init.stdout, /Wrote filefield\.config\.ts and models\.ts/);
  assert.match(init.stdout, /npx filefield shell/);
  assert.equal(
    fs.readFileSync(join(folder, '.gitignore'), 'utf8'),
    'node_modules/\n/media/\n\n# filefield: uploaded files, the database and what filefield keeps beside them\n'
      + '/db.json*\n/.db.json.*\n.filefield_secret\n.filefield_history\n.*.filefield-*.mjs\n',
    'the lines it lacked, appended; what was there kept',
  );
  const shell = filefield(folder, 'shell', '-c', [
    'const profile = new Profile()',
    "await profile.picture.save('me.png', new File(fs.openSync(sampleImage)))",
    "await new Profile().picture.save('again.png', new File(fs.openSync(sampleImage)))",
    'console.log(JSON.stringify([profile.picture.name, profile.picture.width, profile.picture.path, await Profile.objects.count()]))',
  ].join('\n'));
  assert.equal(shell.status, 0, shell.stderr);
  const [name, width, path, rows] = JSON.parse(shell.stdout) as [string, number, string, number];
  assert.match(name, /^profile_pics\/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.png$/);
  assert.equal(width, 64);
  assert.equal(path, join(folder, 'media', name));
  assert.equal(rows, 2);
  assert.ok(fs.existsSync(join(folder, 'db.json')));
  // Whatever the saves wrote beside the settings (the database, its spare, the media) is ignored by git.
  assert.ok(fs.existsSync(join(folder, '.db.json.spare')));
  assert.equal(spawnSync('git', ['init', '-q'], { cwd: folder }).status, 0);
  const untracked = spawnSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: folder, encoding: 'utf8' }).stdout;
  assert.deepEqual(untracked.split('\n').filter(Boolean).sort(), ['?? .gitignore', '?? filefield.config.ts', '?? models.ts']);
});

test('init never overwrites: it names the files that exist, exits 1 and writes nothing', () => {
  const folder = folderWith({ 'models.ts': '// mine\n', 'filefield.config.mjs': 'export default {};\n' });
  const init = filefield(folder, 'init');
  assert.equal(init.status, 1);
  assert.match(init.stderr, /filefield init: filefield\.config\.mjs, models\.ts already exist in .*; nothing was written\./);
  assert.deepEqual(fs.readdirSync(folder).sort(), ['filefield.config.mjs', 'models.ts']);
  assert.equal(fs.readFileSync(join(folder, 'models.ts'), 'utf8'), '// mine\n');
});

test('init without a .gitignore creates one', () => {
  const folder = folderWith({});
  assert.equal(filefield(folder, 'init').status, 0);
  assert.match(fs.readFileSync(join(folder, '.gitignore'), 'utf8'), /^# filefield: .*\n\/media\/\n\/db\.json\*\n/);
});
