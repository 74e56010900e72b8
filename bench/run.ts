/**
 * `npm run bench`: the figures the issues ask for, measured on this machine. Not a test: it prints.
 *   npm run bench                 everything
 *   npm run bench -- storage rows  only some parts (storage, rows, engines, savepath, shell, media, s3)
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { copyFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { ContentFile, File, FileSystemStorage, configure } from '../src/index.ts';
import { seedProfileRows } from './seed.ts';
import { measure as measureEvery, MiB } from './measure.ts';

const report = (line: string): void => console.log(line);

/** Peak resident memory while `task` runs, sampled every 2 ms, above the level before it started (`growthMiB`). */
const measure = <T>(task: () => Promise<T>) => measureEvery(task, 2);

function makeFile(path: string, sizeMiB: number): void {
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(MiB);
  for (let index = 0; index < sizeMiB; index++) {
    block.fill(index % 251);
    writeSync(fd, block);
  }
  closeSync(fd);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function benchStorage(workspace: string): Promise<void> {
  report('## FileSystemStorage.save');
  const storage = new FileSystemStorage({ location: join(workspace, 'media') });
  for (const sizeMiB of [64, 512]) {
    const source = join(workspace, `source-${sizeMiB}.bin`);
    makeFile(source, sizeMiB);
    const copies: number[] = [];
    const saves: number[] = [];
    const streamed: number[] = [];
    let peakSave = 0;
    let peakStream = 0;
    for (let round = 0; round < 3; round++) {
      const copy = await measure(() => copyFile(source, join(workspace, `copy-${round}.bin`)));
      copies.push(copy.seconds);
      rmSync(join(workspace, `copy-${round}.bin`));
      const save = await measure(async () => {
        const file = new File(openSync(source, 'r'));
        try {
          return await storage.save('big.bin', file);
        } finally {
          await file.close();
        }
      });
      saves.push(save.seconds);
      peakSave = Math.max(peakSave, save.growthMiB);
      await storage.delete(save.result);
      const stream = await measure(async () => {
        const { createReadStream } = await import('node:fs');
        return storage.save('streamed.bin', new File(createReadStream(source, { highWaterMark: MiB })));
      });
      streamed.push(stream.seconds);
      peakStream = Math.max(peakStream, stream.growthMiB);
      await storage.delete(stream.result);
    }
    const copyTime = median(copies);
    report(`${sizeMiB} MiB: fs.copyFile ${copyTime.toFixed(3)} s | save(new File(fd)) ${median(saves).toFixed(3)} s `
      + `(${(median(saves) / copyTime).toFixed(2)}x copyFile, peak RSS +${peakSave.toFixed(1)} MiB) | `
      + `save(new File(ReadStream)) ${median(streamed).toFixed(3)} s (${(median(streamed) / copyTime).toFixed(2)}x, peak RSS +${peakStream.toFixed(1)} MiB)`);
    rmSync(source);
  }
  const small = new ContentFile('x'.repeat(1024), 'small.txt');
  const rounds = 500;
  const { seconds } = await measure(async () => {
    for (let index = 0; index < rounds; index++) await storage.save('small/small.txt', small);
  });
  report(`small file (1 KiB, name clashes after the first): ${((seconds / rounds) * 1000).toFixed(3)} ms per save (${rounds} saves)`);
}

async function benchRows(workspace: string): Promise<void> {
  report('## profile.picture.save (file + row)');
  const png = await readFile(new URL('../fixtures/image.png', import.meta.url));
  const { Profile } = await import('../example/models.ts');
  for (const existing of [1_000, 10_000]) {
    const folder = join(workspace, `rows-${existing}`);
    await configure({ BASE_DIR: folder, MEDIA_ROOT: 'media', DATABASE: 'db.json' });
    await seedProfileRows(Profile, existing, png.byteLength);
    const rounds = 200;
    const times: number[] = [];
    for (let index = 0; index < rounds; index++) {
      const profile = new Profile({ name: `new ${index}` });
      const started = performance.now();
      await profile.picture.save('my-image.png', new ContentFile(png));
      times.push(performance.now() - started);
    }
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    report(`${existing} existing rows: ${mean.toFixed(2)} ms mean, ${median(times).toFixed(2)} ms median per save (${rounds} saves; db.json ${(statSync(join(folder, 'db.json')).size / 1024).toFixed(0)} KiB)`);
  }
}

const parts: Record<string, (workspace: string) => Promise<void>> = {
  storage: benchStorage,
  rows: benchRows,
  shell: async () => {
    const { benchShell } = await import('./shell.ts');
    report("## start-up: filefield shell -c 1 beside Django's manage.py shell -c 1, --help, serve");
    await benchShell(report);
  },
  engines: async (workspace) => {
    const { benchEngines } = await import('./engines.ts');
    report('## the article\'s save per engine, side by side with Django on SQLite');
    await benchEngines(report, workspace);
  },
  savepath: async () => {
    const { benchSavePath } = await import('./savePath.ts');
    report('## where the time of the article\'s save goes (medians of each part alone)');
    for (const database of ['db.sqlite3', 'db.json'] as const) await benchSavePath(report, database);
  },
  media: async () => {
    const { benchMedia } = await import('./media.ts');
    report(`## HTTP: media serving (autocannon, 10 connections, 127.0.0.1)`);
    await benchMedia(report);
  },
  s3: async () => {
    const { benchS3 } = await import('./s3.ts');
    report('## S3Storage.save (s3rver)');
    await benchS3(report);
  },
};

/**
 * Marks the workspace as the top of a directory tree (ext4's TOPDIR flag), so that each folder made in it
 * (one per engine run) lands in a block group of its own. Without it, every run's files share the groups of
 * the temporary folder, and on ext4 without a journal, whose allocator skips every inode freed in the last
 * minute, the files one run frees (Django's SQLite journal at every commit, deleted bench folders) slow the
 * file creation of the runs after it, in whatever order they come.
 */
function isolateRuns(workspace: string): string {
  const result = spawnSync('chattr', ['+T', workspace], { encoding: 'utf8' });
  return result.status === 0
    ? 'each run in a folder of its own block group (chattr +T)'
    : `runs share block groups (chattr +T: ${(result.error?.message ?? result.stderr).trim() || 'not supported here'})`;
}

const wanted = process.argv.slice(2).filter((argument) => argument in parts);
const workspace = mkdtempSync(join(tmpdir(), 'filefield-bench-'));
report(`# filefield bench (node ${process.version}, ${new Date().toISOString()}; ${isolateRuns(workspace)})`);
// The parts make their folders in the temporary folder: this one, so each lands in a block group of its own
// (open to other users, as the PostgreSQL cluster there runs as the postgres user).
process.env.TMPDIR = workspace;
chmodSync(workspace, 0o755);
try {
  for (const name of wanted.length ? wanted : Object.keys(parts)) {
    try {
      await parts[name]!(workspace);
    } catch (error) {
      report(`${name}: failed: ${(error as Error).stack ?? error}`);
      process.exitCode = 1;
    }
  }
} finally {
  rmSync(workspace, { recursive: true, force: true });
}

