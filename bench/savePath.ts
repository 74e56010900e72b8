/**
 * Where the time of the article's save goes, part by part, on one engine: each part run alone 300 times
 * (after 30 to warm up), median reported. The parts do not add up to the whole save exactly: the save
 * also streams the bytes through the digest and the image verification between them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { configure, File, FileSystemStorage, type ImageField } from '../src/index.ts';
import { activeDatabase, closeActiveDatabase } from '../src/models/activeDatabase.ts';
import { sweepAbandonedUploads } from '../src/models/abandonedUploads.ts';
import { Profile } from '../example/models.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/image.png', import.meta.url));

async function median(action: () => Promise<unknown>, rounds = 300): Promise<number> {
  for (let round = 0; round < 30; round++) await action();
  const spent: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    await action();
    spent.push(performance.now() - started);
  }
  return spent.sort((a, b) => a - b)[rounds >> 1]!;
}

async function withFixture<T>(use: (file: File) => Promise<T>): Promise<T> {
  const file = await File.open(FIXTURE);
  try {
    return await use(file);
  } finally {
    await file.close();
  }
}

export async function benchSavePath(report: (line: string) => void, database: 'db.json' | 'db.sqlite3'): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), 'filefield-save-path-'));
  try {
    await configure({ BASE_DIR: folder, MEDIA_ROOT: 'media', DATABASE: database });
    const engine = await activeDatabase();
    await engine.migrate([Profile.schema]);
    const storage = new FileSystemStorage({ location: join(folder, 'alone') });
    const field = Profile.fields.picture as ImageField;
    const parts: [string, () => Promise<unknown>][] = [
      ['File.open + close of the source', () => withFixture(async () => undefined)],
      ['field.inspect: type sniffed, image header parsed', () => withFixture((file) => field.inspect(file))],
      ['field.generateFilename: uploadTo and the name checks', async () => field.generateFilename(null, 'my-image.png')],
      ['storage.save alone (temp file, checks, publish)', () => withFixture((file) => storage.save('p/x.png', file))],
      ['storage.save with the digest the record of saves in flight needs', () => withFixture((file) => storage.save('p/x.png', file, { beforePublish: async () => undefined }))],
      ['the sweep of abandoned uploads (nothing to sweep)', () => sweepAbandonedUploads(engine)],
      ['the record of a save in flight (made, then closed)', async () => {
        const entry = await engine.uploads.begin('Profile', 'picture', 'x.png');
        await engine.uploads.recordPublishing(entry, 'x.png', { size: 10, sha256: '00' });
        await engine.uploads.recordStored(entry, 'x.png');
        await engine.uploads.finish(entry);
      }],
      ['the row alone (Profile.objects.create without a file)', () => Profile.objects.create({ name: 'row' })],
      ['the whole save: profile.picture.save(name, File)', () => withFixture((file) => new Profile().picture.save('my-image.png', file))],
    ];
    for (const [what, action] of parts) report(`${engine.vendor.padEnd(6)} ${what.padEnd(66)} ${(await median(action)).toFixed(3)} ms`);
  } finally {
    await closeActiveDatabase();
    rmSync(folder, { recursive: true, force: true });
  }
}
