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

export async function benchEngines(report: (line: string) => void, workspace: string, sizes = [1_000, 100_000]): Promise<void> {
  const cluster = await startPostgres();
  const results: Figures[] = [];
  let counter = 0;
  try {
    for (const rows of sizes) {
      for (const engine of ['django-sqlite', 'json', 'sqlite', 'postgresql']) {
        const folder = join(workspace, `engines-${++counter}`);
        mkdirSync(folder, { recursive: true });
        const { stdout } = engine === 'django-sqlite'
          ? await run('/usr/bin/python3', [join(HERE, 'django', 'save.py'), folder, String(rows), FIXTURE], { maxBuffer: 1 << 20 })
          : await run(process.execPath, ['--expose-gc', '--import', 'tsx', join(HERE, 'engineRun.ts'), folder, engine, String(rows),
            ...(engine === 'postgresql' ? [await cluster.createDatabase()] : [])], { maxBuffer: 1 << 20 });
        const figures = JSON.parse(stdout.trim().split('\n').at(-1)!) as Figures;
        results.push(figures);
        report(`${engine.padEnd(13)} ${String(rows).padStart(7)} rows: save ${figures.saveMeanMs.toFixed(2)} ms mean / ${figures.saveMedianMs.toFixed(2)} median, `
          + `last() ${figures.lastMs.toFixed(3)} ms, by file name ${figures.byFileNameMs.toFixed(3)} ms, by name ${figures.byNameMs.toFixed(3)} ms, `
          + `peak RSS ${figures.peakRssMiB.toFixed(0)} MiB (+${figures.saveGrowthMiB.toFixed(1)} during the saves)`);
      }
    }
  } finally {
    await cluster.stop();
  }
  const find = (engine: string, rows: number) => results.find((figures) => figures.engine === engine && figures.rows === rows);
  for (const rows of sizes) {
    const django = find('django-sqlite', rows);
    if (!django) continue;
    // Medians: on a shared machine a few saves that wait for the disk make the means swing from run to run.
    report(`at ${rows} rows, median save time against Django on SQLite: ${['json', 'sqlite', 'postgresql'].map((engine) => `${engine} ${(find(engine, rows)!.saveMedianMs / django.saveMedianMs).toFixed(2)}x`).join(', ')}`);
  }
  const [small, large] = [sizes[0]!, sizes.at(-1)!];
  if (small !== large) {
    for (const engine of ['json', 'sqlite', 'postgresql', 'django-sqlite']) {
      const a = find(engine, small)!;
      const b = find(engine, large)!;
      report(`${engine}: the median save at ${large} rows is ${(b.saveMedianMs / a.saveMedianMs).toFixed(2)}x the one at ${small}; peak RSS ${(b.peakRssMiB - a.peakRssMiB).toFixed(0)} MiB above`);
    }
  }
}
