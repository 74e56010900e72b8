/**
 * The database engines side by side with Django on SQLite: the article's save (file + row) at 1,000 and
 * 100,000 existing rows, objects.last(), a lookup by file name and by name, and peak memory during the saves.
 * Each figure comes from a process of its own; PostgreSQL runs on a throwaway cluster.
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startPostgres } from '../test/support/postgres.ts';

const run = promisify(execFile);
const HERE = fileURLToPath(new URL('.', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../fixtures/image.png', import.meta.url));

interface Figures {
  engine: string;
  rows: number;
  saveMeanMs: number;
  saveMedianMs: number;
  peakRssMiB: number;
  saveGrowthMiB: number;
  lastMs: number;
  byFileNameMs: number;
  byNameMs: number;
}

/**
 * Rounds at each table size, every engine once a round: the disk's speed drifts over minutes (Django's
 * SQLite commits fsync, the JSON engine's rename starts a writeback), so figures are compared within a round
 * and the median round is reported. One round at 100,000 rows (a JSON save there takes some 35 ms).
 */
const ROUNDS: Record<number, number> = { 1_000: 3 };

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function benchEngines(report: (line: string) => void, workspace: string, sizes = [1_000, 100_000]): Promise<void> {
  const cluster = await startPostgres();
  const results: (Figures & { round: number })[] = [];
  let counter = 0;
  try {
    for (const rows of sizes) {
      for (let round = 0; round < (ROUNDS[rows] ?? 1); round++) for (const engine of ['django-sqlite', 'json', 'sqlite', 'postgresql']) {
        const folder = join(workspace, `engines-${++counter}`);
        mkdirSync(folder, { recursive: true });
        const { stdout } = engine === 'django-sqlite'
          ? await run('/usr/bin/python3', [join(HERE, 'django', 'save.py'), folder, String(rows), FIXTURE], { maxBuffer: 1 << 20 })
          : await run(process.execPath, ['--expose-gc', '--import', 'tsx', join(HERE, 'engineRun.ts'), folder, engine, String(rows),
            ...(engine === 'postgresql' ? [await cluster.createDatabase()] : [])], { maxBuffer: 1 << 20 });
        const figures = JSON.parse(stdout.trim().split('\n').at(-1)!) as Figures;
        results.push({ ...figures, round });
        report(`${engine.padEnd(13)} ${String(rows).padStart(7)} rows${(ROUNDS[rows] ?? 1) > 1 ? `, round ${round + 1}` : ''}: save ${figures.saveMeanMs.toFixed(2)} ms mean / ${figures.saveMedianMs.toFixed(2)} median, `
          + `last() ${figures.lastMs.toFixed(3)} ms, by file name ${figures.byFileNameMs.toFixed(3)} ms, by name ${figures.byNameMs.toFixed(3)} ms, `
          + `peak RSS ${figures.peakRssMiB.toFixed(0)} MiB (+${figures.saveGrowthMiB.toFixed(1)} during the saves)`);
      }
    }
  } finally {
    await cluster.stop();
  }
  const runs = (engine: string, rows: number) => results.filter((figures) => figures.engine === engine && figures.rows === rows);
  /** The median over the rounds of an engine's median save, and of its ratio to Django's in the same round. */
  const summary = (engine: string, rows: number) => {
    const own = runs(engine, rows);
    const django = runs('django-sqlite', rows);
    return {
      saveMs: median(own.map((figures) => figures.saveMedianMs)),
      ratio: median(own.map((figures) => figures.saveMedianMs / django.find((other) => other.round === figures.round)!.saveMedianMs)),
      ratios: own.map((figures) => figures.saveMedianMs / django.find((other) => other.round === figures.round)!.saveMedianMs),
      peakRssMiB: median(own.map((figures) => figures.peakRssMiB)),
    };
  };
  for (const rows of sizes) {
    if (runs('django-sqlite', rows).length === 0) continue;
    report(`at ${rows} rows, median save time against Django on SQLite in the same round: ${['json', 'sqlite', 'postgresql'].map((engine) => {
      const { ratio, ratios } = summary(engine, rows);
      return `${engine} ${ratio.toFixed(2)}x${ratios.length > 1 ? ` (rounds ${ratios.map((value) => value.toFixed(2)).join(', ')})` : ''}`;
    }).join('; ')}`);
  }
  const [small, large] = [sizes[0]!, sizes.at(-1)!];
  if (small !== large) {
    for (const engine of ['json', 'sqlite', 'postgresql', 'django-sqlite']) {
      const a = summary(engine, small);
      const b = summary(engine, large);
      report(`${engine}: the median save at ${large} rows is ${(b.saveMs / a.saveMs).toFixed(2)}x the one at ${small}; peak RSS ${(b.peakRssMiB - a.peakRssMiB).toFixed(0)} MiB above`);
    }
  }
}
