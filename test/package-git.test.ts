// `npm install <git folder>`: npm clones it, installs its dependencies and devDependencies there, runs
// `prepare` (the build), packs and installs the result. What is committed must be enough to build.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inFolder, npm, writeFiles } from './support/consumer.ts';

const REPOSITORY = fileURLToPath(new URL('..', import.meta.url));
let scratch: string;

before(() => {
  scratch = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), 'filefield-git-install-')));
});

after(() => fs.rmSync(scratch, { recursive: true, force: true }));

test('npm install <git folder> builds the package (prepare) and it runs', async () => {
  // A repository holding what `git add` would take from this working tree (committed or not).
  const source = join(scratch, 'git-source');
  const tracked = (await inFolder(REPOSITORY, 'git', ['ls-files', '-co', '--exclude-standard', '-z'])).split('\0').filter(Boolean);
  for (const file of tracked) {
    if (!fs.existsSync(join(REPOSITORY, file))) continue;
    fs.mkdirSync(join(source, file, '..'), { recursive: true });
    fs.copyFileSync(join(REPOSITORY, file), join(source, file));
  }
  const git = (...args: string[]) => inFolder(source, 'git', ['-c', 'user.name=filefield tests', '-c', 'user.email=tests@filefield.invalid', ...args]);
  await git('init', '-q');
  await git('add', '-A');
  await git('commit', '-qm', 'the working tree');
  const project = join(scratch, 'from-git');
  writeFiles(project, { 'package.json': '{ "name": "from-git", "private": true }\n' });
  await npm(project, 'install', `git+file://${source}`);
  assert.ok(fs.existsSync(join(project, 'node_modules/filefield/dist/index.d.ts')), 'built by prepare');
  const output = await inFolder(project, process.execPath, [join(project, 'node_modules/.bin/filefield'), 'shell', '-c', 'console.log(typeof Profile, settings.MEDIA_URL)']);
  assert.equal(output.trim(), 'function /media/');
});
