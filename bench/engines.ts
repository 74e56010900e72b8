/**
 * The database engines side by side with Django on SQLite: the article's save (file + row) at 1,000 and
 * 100,000 existing rows, objects.last(), a lookup by file name and by name, and peak memory during the saves.
 * Each engine runs in a process of its own (bench/engineRun.ts, bench/django/save.py); PostgreSQL runs on a
 * throwaway cluster.
 *
 * The timed saves are interleaved: once every process has loaded its rows and warmed up, they take turns,
 * a batch of saves each, cycle after cycle (each cycle in another order). This machine's disk and CPU drift
 * over seconds (Django's SQLite commits fsync), so a ratio is taken between batches of the same cycle, and
 * the median over the cycles reported.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startPostgres } from '../test/support/postgres.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../fixtures/image.png', import.meta.url));
const ENGINES = ['django-sqlite', 'json', 'sqlite', 'postgresql'] as const;
type Engine = (typeof ENGINES)[number];
const OURS = ENGINES.filter((engine) => engine !== 'django-sqlite');

/** Batches per engine and saves per batch: 200 timed saves each (fewer at 100,000 rows on JSON, some 20 ms each). */
const CYCLES = 10;
const BATCH = 20;

interface Finish {
  peakRssMiB: number;
  saveGrowthMiB: number;
  lastMs: number;
  byFileNameMs: number;
  byNameMs: number;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** A runner process that answers one line per request line. */
class Runner {
  private readonly waiting: { resolve: (line: string) => void; reject: (error: Error) => void }[] = [];
  private exited: Error | null = null;
  private stderr = '';

  constructor(readonly engine: Engine, private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => this.waiting.shift()?.resolve(line));
    child.stderr.on('data', (data: Buffer) => (this.stderr += data.toString()));
    child.on('close', (code, signal) => {
      this.exited = new Error(`the ${engine} runner exited (${signal ?? code}): ${this.stderr.trim()}`);
      for (const waiter of this.waiting.splice(0)) waiter.reject(this.exited);
    });
  }

  /** The next line the runner prints (rejected if it has exited, or exits first). */
  nextLine(): Promise<string> {
    if (this.exited) return Promise.reject(this.exited);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  async request<T>(line: string): Promise<T> {
    const answer = this.nextLine();
    this.child.stdin.write(`${line}\n`);
    return JSON.parse(await answer) as T;
  }

  stop(): void {
    this.child.kill();
  }
}

function startRunner(engine: Engine, folder: string, rows: number, databaseUrl?: string): Runner {
  const child = engine === 'django-sqlite'
    ? spawn('/usr/bin/python3', [join(HERE, 'django', 'save.py'), folder, String(rows), FIXTURE])
    // Without V8's memory reducer: a runner sits idle while the others take their turns, and on going idle V8
    // collects the whole heap, throwing away some of the compiled save path (its next batch then runs up to
    // half again slower). A server under load does not idle; a Python process has nothing like it.
    : spawn(process.execPath, ['--expose-gc', '--no-memory-reducer', '--import', 'tsx', join(HERE, 'engineRun.ts'), folder, engine, String(rows), ...(databaseUrl ? [databaseUrl] : [])]);
  return new Runner(engine, child);
}

interface RunFigures {
  times: number[];
  /** Per cycle: the median of this run's batch over that of Django's run at the same size. */
  againstDjango: number[];
  /** Per cycle: the median of this run's batch over that of the same engine's run at the smallest size. */
  againstSmallest: number[];
  finish: Finish;
}

const key = (engine: Engine, rows: number) => `${engine} ${rows}`;

/**
 * Every engine at every size, one process each, all taking turns in the same cycles: a ratio between sizes
 * is as much a same-moment comparison as one between engines.
 */
async function benchRuns(sizes: number[], workspace: string, databaseUrls: Map<number, string>): Promise<Map<string, RunFigures>> {
  const runs = sizes.flatMap((rows) => ENGINES.map((engine) => ({ engine, rows })));
  const runners = new Map<string, Runner>();
  try {
    return await takeTurns(sizes, workspace, databaseUrls, runs, runners);
  } finally {
    for (const runner of runners.values()) runner.stop();
  }
}

async function takeTurns(sizes: number[], workspace: string, databaseUrls: Map<number, string>, runs: { engine: Engine; rows: number }[], runners: Map<string, Runner>): Promise<Map<string, RunFigures>> {
  for (const { engine, rows } of runs) {
    const folder = join(workspace, `engines-${rows}-${engine}`);
    mkdirSync(folder, { recursive: true });
    const runner = startRunner(engine, folder, rows, engine === 'postgresql' ? databaseUrls.get(rows) : undefined);
    runners.set(key(engine, rows), runner);
    // Loading and warming up one after another, so that none is timed while another loads.
    const line = await runner.nextLine();
    if (line !== 'READY') throw new Error(`${engine} at ${rows} rows: ${line}`);
  }
  const figures = new Map(runs.map(({ engine, rows }) => [key(engine, rows), { times: [] as number[], againstDjango: [] as number[], againstSmallest: [] as number[] }]));
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const batch = new Map<string, number>();
    for (let turn = 0; turn < runs.length; turn++) {
      const { engine, rows } = runs[(cycle + turn) % runs.length]!;
      const { times } = await runners.get(key(engine, rows))!.request<{ times: number[] }>(`save ${BATCH}`);
      figures.get(key(engine, rows))!.times.push(...times);
      batch.set(key(engine, rows), median(times));
    }
    for (const { engine, rows } of runs) {
      const own = batch.get(key(engine, rows))!;
      figures.get(key(engine, rows))!.againstDjango.push(own / batch.get(key('django-sqlite', rows))!);
      figures.get(key(engine, rows))!.againstSmallest.push(own / batch.get(key(engine, sizes[0]!))!);
    }
  }
  const result = new Map<string, RunFigures>();
  for (const { engine, rows } of runs) {
    result.set(key(engine, rows), { ...figures.get(key(engine, rows))!, finish: await runners.get(key(engine, rows))!.request<Finish>('finish') });
  }
  return result;
}

const summary = (ratios: number[]): string => `${median(ratios).toFixed(2)}x (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`;

export async function benchEngines(report: (line: string) => void, workspace: string, sizes = [1_000, 100_000]): Promise<void> {
  const cluster = await startPostgres();
  let runs: Map<string, RunFigures>;
  try {
    const urls = new Map<number, string>();
    for (const rows of sizes) urls.set(rows, await cluster.createDatabase());
    runs = await benchRuns(sizes, workspace, urls);
  } finally {
    await cluster.stop();
  }
  for (const rows of sizes) {
    for (const engine of ENGINES) {
      const { times, finish } = runs.get(key(engine, rows))!;
      report(`${engine.padEnd(13)} ${String(rows).padStart(7)} rows: save ${(times.reduce((a, b) => a + b, 0) / times.length).toFixed(2)} ms mean / ${median(times).toFixed(2)} median, `
        + `last() ${finish.lastMs.toFixed(3)} ms, by file name ${finish.byFileNameMs.toFixed(3)} ms, by name ${finish.byNameMs.toFixed(3)} ms, `
        + `peak RSS ${finish.peakRssMiB.toFixed(0)} MiB (+${finish.saveGrowthMiB.toFixed(1)} during the saves)`);
    }
  }
  report(`${CYCLES} cycles of ${BATCH} saves per run; ratios are medians over the cycles of ratios within a cycle (range in brackets)`);
  for (const rows of sizes) {
    report(`at ${rows} rows, the save against Django's on SQLite: ${OURS.map((engine) => `${engine} ${summary(runs.get(key(engine, rows))!.againstDjango)}`).join('; ')}`);
  }
  const [small, large] = [sizes[0]!, sizes.at(-1)!];
  if (small === large) return;
  for (const engine of ENGINES) {
    const run = runs.get(key(engine, large))!;
    report(`${engine}: the save at ${large} rows against the one at ${small}: ${summary(run.againstSmallest)}; `
      + `peak RSS ${(run.finish.peakRssMiB - runs.get(key(engine, small))!.finish.peakRssMiB).toFixed(0)} MiB above`);
  }
}
