/**
 * A throwaway PostgreSQL cluster for the tests: Debian's binaries, initdb into a temporary folder as the
 * `postgres` user (the tests run as root, which PostgreSQL refuses to run as), started on 127.0.0.1 and a
 * free port with password authentication, stopped and removed by stop().
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './children.ts';

const run = promisify(execFile);
/** Debian's binaries of the newest PostgreSQL installed (/usr/lib/postgresql/<major>/bin), or PG_BIN. */
function binaries(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a)) : [];
  return join(root, majors[0] ?? '15', 'bin');
}

const BIN = binaries();

export interface PostgresCluster {
  host: string;
  port: number;
  user: string;
  password: string;
  /** A new, empty database; its URL (postgres://user:password@127.0.0.1:port/name). */
  createDatabase(name?: string): Promise<string>;
  stop(): Promise<void>;
}

/** Runs a PostgreSQL program as the `postgres` user when we are root (as CI is), else as ourselves. */
function asPostgres(program: string, args: string[]) {
  const command = join(BIN, program);
  return process.getuid?.() === 0 ? run('runuser', ['-u', 'postgres', '--', command, ...args]) : run(command, args);
}

let counter = 0;

export async function startPostgres(): Promise<PostgresCluster> {
  if (!existsSync(join(BIN, 'initdb'))) {
    throw new Error(`PostgreSQL's binaries are not in ${BIN}: apt-get install postgresql (or set PG_BIN).`);
  }
  const folder = mkdtempSync(join(tmpdir(), 'filefield-pg-'));
  const data = join(folder, 'data');
  const passwordFile = join(folder, 'password');
  const password = `pw-${process.pid}-${Date.now()}`;
  writeFileSync(passwordFile, password);
  if (process.getuid?.() === 0) {
    chownSync(folder, Number((await run('id', ['-u', 'postgres'])).stdout), Number((await run('id', ['-g', 'postgres'])).stdout));
    chownSync(passwordFile, Number((await run('id', ['-u', 'postgres'])).stdout), 0);
  }
  await asPostgres('initdb', ['-D', data, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${passwordFile}`, '--no-sync', '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  await asPostgres('pg_ctl', [
    '-D', data, '-l', join(folder, 'log'), '-w', '-t', '60',
    '-o', `-p ${port} -k ${folder} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`,
    'start',
  ]);
  const cluster: PostgresCluster = {
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password,
    async createDatabase(name = `test_${process.pid}_${++counter}`) {
      const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name}"`);
      } finally {
        await client.end();
      }
      return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      await asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      rmSync(folder, { recursive: true, force: true });
    },
  };
  return cluster;
}
