/**
 * The PostgreSQL driver, through pg: a pool that never keeps a finished script alive (its idle clients
 * let the process exit), bigint values read as numbers, and errors a user can act on in one line.
 * Each process holds an advisory lock on a connection of its own while it has saves in flight: the lock
 * goes when the process does (on any machine), which is how another process knows the saves are dead.
 */
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as Pg from 'pg';
import type { DatabaseConfig } from '../../conf/databases.ts';
import { OperationalError, errorCode } from '../../errors.ts';
import type { SqlDriver, SqlResult } from './connection.ts';
import { loadDriver } from './optionalDriver.ts';

type PgModule = typeof Pg;

/** The first key of every filefield owner lock (the second is the owner's own). */
const OWNER_LOCK_NAMESPACE = 0x0f11ef1e;
const CONNECTION_FAILURES: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is the server running, and on this port?)',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be resolved',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
  ECONNRESET: 'the server closed the connection',
};

export async function openPostgres(config: DatabaseConfig): Promise<SqlDriver> {
  const pg = await loadDriver<PgModule>('pg', 'postgresql');
  const host = config.HOST ?? 'localhost';
  const port = config.PORT ?? 5432;
  const where = `PostgreSQL at ${host}:${port} (database '${config.NAME}'${config.USER ? `, user '${config.USER}'` : ''})`;
  const location = `postgresql://${config.USER ? `${config.USER}@` : ''}${host}:${port}/${config.NAME}`;
  const types = new pg.TypeOverrides();
  // Ids, counts and sizes are bigint columns; JavaScript numbers hold them exactly up to 2^53.
  types.setTypeParser(20, Number);
  const clientConfig: Pg.ClientConfig = {
    ...(config.OPTIONS ?? {}),
    host,
    port,
    database: config.NAME,
    user: config.USER,
    password: config.PASSWORD,
    types,
  };
  const pool = new pg.Pool({ ...clientConfig, allowExitOnIdle: true });
  // An idle client's connection dropped by the server: the next query reconnects and reports it.
  pool.on('error', () => undefined);

  const explain = (error: unknown): Error => {
    const code = errorCode(error);
    const reason = code ? CONNECTION_FAILURES[code] : undefined;
    if (reason) return new OperationalError(location, `Could not connect to ${where}: ${reason}.`, { cause: error });
    if (code === '28P01') return new OperationalError(location, `The password for user '${config.USER ?? ''}' was refused by ${where}.`, { cause: error });
    if (code === '28000') return new OperationalError(location, `${where} refused the connection: ${(error as Error).message}.`, { cause: error });
    if (code === '3D000') return new OperationalError(location, `${where}: the database '${config.NAME}' does not exist (create it with createdb).`, { cause: error });
    return error as Error;
  };
  const run = async (client: Pg.Pool | Pg.PoolClient | Pg.Client, sql: string, params: readonly unknown[]): Promise<SqlResult> => {
    try {
      const result = await client.query(sql, params as unknown[]);
      return { rows: result.rows, affected: result.rowCount ?? 0 };
    } catch (error) {
      throw explain(error);
    }
  };

  let ownerLock: Promise<{ client: Pg.Client; key: number }> | null = null;
  const lockClient = () => {
    ownerLock ??= (async () => {
      const client = new pg.Client(clientConfig);
      client.on('error', () => undefined);
      try {
        await client.connect();
      } catch (error) {
        ownerLock = null;
        throw explain(error);
      }
      const key = randomInt(1, 2 ** 31 - 1);
      await run(client, 'SELECT pg_advisory_lock($1, $2)', [OWNER_LOCK_NAMESPACE, key]);
      socketOf(client)?.unref();
      return { client, key };
    })();
    return ownerLock;
  };
  /**
   * A connection held for its own purpose (the owner lock, a transaction, the sandbox's) keeps its socket
   * unreferenced but for its own queries: a finished script ends, and the server rolls back what it left open.
   */
  const runReferenced = async (client: Pg.PoolClient | Pg.Client, sql: string, params: readonly unknown[]): Promise<SqlResult> => {
    socketOf(client)?.ref();
    try {
      return await run(client, sql, params);
    } finally {
      socketOf(client)?.unref();
    }
  };
  const onLockClient = async (sql: string, params: unknown[]): Promise<SqlResult> => runReferenced((await lockClient()).client, sql, params);

  return {
    vendor: 'postgresql',
    location,
    beginStatement: 'BEGIN',
    query: (sql, params) => run(pool, sql, params),
    async withConnection(work) {
      let client: Pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw explain(error);
      }
      socketOf(client)?.unref();
      try {
        return await work({ query: (sql, params) => runReferenced(client, sql, params) });
      } finally {
        client.release();
      }
    },
    owner: async () => String((await lockClient()).key),
    querySync: (sql, params) => querySyncWith(clientConfig, sql, params),
    async ownerIsAlive(owner) {
      const { key } = await lockClient();
      if (Number(owner) === key) return true;
      const { rows } = await onLockClient('SELECT pg_try_advisory_lock($1, $2) AS got', [OWNER_LOCK_NAMESPACE, Number(owner)]);
      if (!rows[0]?.got) return true;
      await onLockClient('SELECT pg_advisory_unlock($1, $2)', [OWNER_LOCK_NAMESPACE, Number(owner)]);
      return false;
    },
    async close() {
      const lock = ownerLock;
      ownerLock = null;
      // The idle connections' sockets are unreferenced: without this, the process could end before they close.
      const keepAlive = setInterval(() => undefined, 1000);
      try {
        await Promise.all([pool.end(), lock?.then(({ client }) => client.end(), () => undefined)]);
      } finally {
        clearInterval(keepAlive);
      }
    },
  };
}

/**
 * Runs one statement and waits for it, for an 'exit' hook (nothing asynchronous runs there): in a short-lived
 * child process with a connection of its own. Only used at exit, and only when there is something to record.
 */
const SYNC_CHILD = `
const { config, sql, params, pg } = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
const client = new (require(pg).Client)(config);
client.connect().then(() => client.query(sql, params)).then((result) => {
  process.stdout.write(JSON.stringify({ rows: result.rows, affected: result.rowCount ?? 0 }));
  return client.end();
}).catch((error) => { process.stderr.write(String(error && error.message)); process.exit(1); });
`;

function querySyncWith(config: Pg.ClientConfig, sql: string, params: readonly unknown[]): SqlResult {
  const { types: _types, ...plain } = config;
  const pg = createRequire(import.meta.url).resolve('pg');
  const child = spawnSync(process.execPath, ['-e', SYNC_CHILD], {
    input: JSON.stringify({ config: plain, sql, params, pg }),
    encoding: 'utf8',
    timeout: 15_000,
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  if (child.status !== 0) throw new OperationalError(String(config.database), `PostgreSQL statement at exit failed: ${child.stderr || child.error?.message}`);
  return JSON.parse(child.stdout) as SqlResult;
}

function socketOf(client: Pg.Client): { ref(): void; unref(): void } | undefined {
  return (client as unknown as { connection?: { stream?: { ref(): void; unref(): void } } }).connection?.stream;
}
