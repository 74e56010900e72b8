/**
 * HTTP throughput of media serving, measured with autocannon (bounded: 10 connections, 5 rounds of 2 s each,
 * 127.0.0.1) against a server in its own process: mediaHandler in Express against express.static on the
 * same files, and `filefield serve` with 10 rows against 2,000 (its lookup by name must not scan the rows).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const SERVER = fileURLToPath(new URL('./httpServer.ts', import.meta.url));
const SECONDS = 2;
/** Rounds of each measurement, alternated between the two contenders: the machine's load varies. */
const ROUNDS = 5;
const CONNECTIONS = 10;

interface Started {
  origin: string;
  paths: Record<string, string>;
  stop(): Promise<void>;
}

async function startServer(kind: 'express' | 'serve', rows: number): Promise<Started> {
  const folder = mkdtempSync(join(tmpdir(), 'filefield-bench-http-'));
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER, kind, folder, String(rows)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const [line] = await Promise.race([
    createInterface({ input: child.stdout })[Symbol.asyncIterator]().next().then(({ value }) => [value as string | undefined]),
    exited.then(() => [undefined]),
  ]);
  if (!line) throw new Error(`the ${kind} bench server did not start`);
  const { origin, paths } = JSON.parse(line) as { origin: string; paths: Record<string, string> };
  return {
    origin,
    paths,
    async stop() {
      child.kill();
      await exited;
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

interface Rate {
  /** Requests per second (mean). */
  perSecond: number;
  /** The server's CPU time per request (µs), where the server tells its CPU time: steadier than the rate on a busy machine. */
  cpuMicroseconds: number | undefined;
}

async function serverCpu(cpuUrl: string | undefined): Promise<number | undefined> {
  return cpuUrl === undefined ? undefined : Number(await (await fetch(cpuUrl)).text());
}

/** GETs of one URL for `seconds`; any non-2xx answer fails the bench. */
async function measureRate(url: string, cpuUrl?: string, seconds = SECONDS): Promise<Rate> {
  const cpuBefore = await serverCpu(cpuUrl);
  const result = await autocannon({ url, connections: CONNECTIONS, duration: seconds });
  const cpuAfter = await serverCpu(cpuUrl);
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  const cpuMicroseconds = cpuBefore === undefined || cpuAfter === undefined ? undefined : (cpuAfter - cpuBefore) / result.requests.total;
  return { perSecond: result.requests.average, cpuMicroseconds };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The median rate (and CPU per request) of each URL over ROUNDS rounds, the URLs taking turns, after a warm-up of each. */
async function compare(urls: readonly string[], cpuUrl?: string): Promise<Rate[]> {
  for (const url of urls) await measureRate(url, undefined, 1); // warm-up: caches, JIT
  const rates = urls.map((): Rate[] => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [index, url] of urls.entries()) rates[index]!.push(await measureRate(url, cpuUrl));
  }
  return rates.map((measured) => ({
    perSecond: median(measured.map((rate) => rate.perSecond)),
    cpuMicroseconds: cpuUrl === undefined ? undefined : median(measured.map((rate) => rate.cpuMicroseconds!)),
  }));
}

export async function benchMedia(report: (line: string) => void): Promise<void> {
  const express = await startServer('express', 10);
  try {
    for (const [label, staticPath, mediaPath] of [
      ['small image (fixtures/image.png)', express.paths.staticSmall!, express.paths.mediaSmall!],
      ['1 MiB file', express.paths.staticLarge!, express.paths.mediaLarge!],
    ] as const) {
      const [staticRate, mediaRate] = await compare([`${express.origin}${staticPath}`, `${express.origin}${mediaPath}`], `${express.origin}/cpu`) as [Rate, Rate];
      report(`Express 5, ${label}: express.static ${staticRate.perSecond.toFixed(0)} req/s | mediaHandler ${mediaRate.perSecond.toFixed(0)} req/s `
        + `(${(mediaRate.perSecond / staticRate.perSecond).toFixed(2)}x express.static); server CPU per request `
        + `${staticRate.cpuMicroseconds!.toFixed(0)} µs | ${mediaRate.cpuMicroseconds!.toFixed(0)} µs `
        + `(express.static's is ${(staticRate.cpuMicroseconds! / mediaRate.cpuMicroseconds!).toFixed(2)}x mediaHandler's)`);
    }
  } finally {
    await express.stop();
  }
  // Both servers run at once, so that their rounds can alternate.
  const few = await startServer('serve', 10);
  const many = await startServer('serve', 2000);
  try {
    const [fewRate, manyRate] = await compare([`${few.origin}${few.paths.mediaSmall}`, `${many.origin}${many.paths.mediaSmall}`]) as [Rate, Rate];
    report(`filefield serve, small image: ${fewRate.perSecond.toFixed(0)} req/s with 10 rows | ${manyRate.perSecond.toFixed(0)} req/s with 2,000 rows `
      + `(${(manyRate.perSecond / fewRate.perSecond).toFixed(2)}x)`);
  } finally {
    await few.stop();
    await many.stop();
  }
}
