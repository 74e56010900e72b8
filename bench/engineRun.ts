/**
 * One engine at one table size, in a process of its own (so its memory figures are its own), for
 * bench/engines.ts: N rows loaded, then 200 article saves (fixtures/image.png into Profile.picture),
 * Profile.objects.last(), and lookups by file name (indexed on SQL engines) and by name. Prints one JSON object.
 *
 * argv: <workspace folder> <json|sqlite|postgresql> <existing rows> [postgres URL]
 */
import { readFile } from 'node:fs/promises';

import { performance } from 'node:perf_hooks';
import { configure, File } from '../src/index.ts';
import { activeDatabase, closeActiveDatabase } from '../src/models/activeDatabase.ts';
import { Profile } from '../example/models.ts';
import { measure } from './measure.ts';
import { seedProfileRows } from './seed.ts';

const [workspace, engine, existingText, url] = process.argv.slice(2);
const existing = Number(existingText);
const fixture = new URL('../fixtures/image.png', import.meta.url).pathname;
const png = await readFile(fixture);
const database = engine === 'json' ? 'db.json' : engine === 'sqlite' ? 'db.sqlite3' : url!;
await configure({ BASE_DIR: workspace!, MEDIA_ROOT: 'media', DATABASE: database });

await seedProfileRows(Profile, existing, png.byteLength);

async function articleSave(index: number): Promise<number> {
  const file = await File.open(fixture);
  try {
    const profile = new Profile({ name: `new ${index}` });
    const started = performance.now();
    await profile.picture.save('my-image.png', file);
    return performance.now() - started;
  } finally {
    await file.close();
  }
}

// Not timed: the first saves load the image parsers and warm the caches, and let V8 compile the save path
// (its optimizing compiler takes a few hundred calls; a server runs warm). Django warms up as many.
const WARM_UP_SAVES = 1000;
for (let index = 0; index < WARM_UP_SAVES; index++) await articleSave(-index);
const times: number[] = [];
const saves = await measure(async () => {
  for (let index = 0; index < 200; index++) times.push(await articleSave(index));
}, 2);

async function medianMs(action: (round: number) => Promise<unknown>, rounds = 100): Promise<number> {
  const spent: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    await action(round);
    spent.push(performance.now() - started);
  }
  return spent.sort((a, b) => a - b)[Math.floor(rounds / 2)]!;
}

const seedId = (round: number): number => ((round * 7) % Math.max(existing, 1)) + 1;
times.sort((a, b) => a - b);
const result = {
  engine,
  rows: existing,
  saveMeanMs: times.reduce((a, b) => a + b, 0) / times.length,
  saveMedianMs: times[100]!,
  peakRssMiB: saves.peakRssMiB,
  saveGrowthMiB: saves.growthMiB,
  lastMs: await medianMs(() => Profile.objects.last()),
  byFileNameMs: await medianMs((round) => Profile.objects.filter({ picture: `profile_pics/seed-${seedId(round)}.png` }).first()),
  byNameMs: await medianMs((round) => Profile.objects.filter({ name: `user ${seedId(round)}` }).first()),
};
await closeActiveDatabase();
process.stdout.write(`${JSON.stringify(result)}\n`);
