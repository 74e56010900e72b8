/**
 * One engine at one table size, in a process of its own (so its memory figures are its own), driven by
 * bench/engines.ts: N rows loaded and 1,000 untimed saves, then "READY"; each line `save <n>` on stdin runs n
 * timed article saves (fixtures/image.png into Profile.picture) and answers one JSON line of their times;
 * `finish` answers the figures: Profile.objects.last(), lookups by file name (indexed on SQL engines) and
 * by name, and the peak memory while the timed saves ran.
 *
 * argv: <workspace folder> <json|sqlite|postgresql> <existing rows> [postgres URL]
 */
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { configure, File } from '../src/index.ts';
import { closeActiveDatabase } from '../src/models/activeDatabase.ts';
import { Profile } from '../example/models.ts';
import { MiB, sampleRss } from './measure.ts';
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
// (its optimizing compiler takes a few hundred calls; a server runs warm). Django warms up as many. The heap
// is collected before them, never after: a forced full collection throws away some of what they compiled.
const WARM_UP_SAVES = 1000;
globalThis.gc?.();
for (let index = 0; index < WARM_UP_SAVES; index++) await articleSave(-index);

const memory = sampleRss(2);

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
const answer = (value: unknown): boolean => process.stdout.write(`${JSON.stringify(value)}\n`);

let saved = 0;
process.stdout.write('READY\n');
for await (const line of createInterface({ input: process.stdin })) {
  const [command, count] = line.trim().split(' ');
  if (command === 'save') {
    const times: number[] = [];
    for (let index = 0; index < Number(count); index++) times.push(await articleSave(saved++));
    answer({ times });
  } else if (command === 'finish') {
    const { startRss, peakRss } = memory.stop();
    answer({
      peakRssMiB: peakRss / MiB,
      saveGrowthMiB: (peakRss - startRss) / MiB,
      lastMs: await medianMs(() => Profile.objects.last()),
      byFileNameMs: await medianMs((round) => Profile.objects.filter({ picture: `profile_pics/seed-${seedId(round)}.png` }).first()),
      byNameMs: await medianMs((round) => Profile.objects.filter({ name: `user ${seedId(round)}` }).first()),
    });
    break;
  }
}
await closeActiveDatabase();
