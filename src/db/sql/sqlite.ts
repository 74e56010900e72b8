/**
 * The SQLite driver, through better-sqlite3 (synchronous, one connection per process): statements take
 * turns on the connection, so one flow's statements never land inside another flow's open transaction.
 * WAL lets readers work while a writer writes; other processes wait for the write lock (busy timeout).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { OperationalError } from '../../errors.ts';
import { identityIsAlive, ownIdentity, parseIdentity } from '../processIdentity.ts';
import type { SqlConnection, SqlDriver, SqlResult } from './connection.ts';
import { loadDriver } from './optionalDriver.ts';

const BUSY_TIMEOUT_MS = 30_000;
const STATEMENT_CACHE_SIZE = 256;

type SqliteModule = typeof BetterSqlite3;

function bindable(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

export async function openSqlite(file: string): Promise<SqlDriver> {
  const Sqlite = await loadDriver<SqliteModule>('better-sqlite3', 'sqlite');
  let database: BetterSqlite3.Database;
  try {
    mkdirSync(dirname(file), { recursive: true });
    database = new Sqlite(file, { timeout: BUSY_TIMEOUT_MS });
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
  } catch (error) {
    throw new OperationalError(file, `Could not open the SQLite database ${file}: ${(error as Error).message}`, { cause: error });
  }
  const statements = new Map<string, BetterSqlite3.Statement>();
  const prepare = (sql: string): BetterSqlite3.Statement => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = database.prepare(sql);
      if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value!);
      statements.set(sql, statement);
    }
    return statement;
  };
  const execute = (sql: string, params: readonly unknown[]): SqlResult => {
    const statement = prepare(sql);
    const values = params.map(bindable);
    if (statement.reader) return { rows: statement.all(...values) as Record<string, unknown>[], affected: 0 };
    return { rows: [], affected: statement.run(...values).changes };
  };
  const connection: SqlConnection = { query: async (sql, params) => execute(sql, params) };

  let turn: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(work: () => Promise<T>): Promise<T> => {
    const result = turn.then(work);
    turn = result.catch(() => undefined);
    return result;
  };
  const host = hostname();
  // The host, then who we are (pid, start time, boot: a reused pid is not taken for us), then this engine.
  const owner = `${host} ${JSON.stringify(await ownIdentity())} ${randomUUID().slice(0, 8)}`;

  return {
    vendor: 'sqlite',
    location: file,
    beginStatement: 'BEGIN IMMEDIATE',
    query: (sql, params) => inTurn(async () => execute(sql, params)),
    withConnection: (work) => inTurn(() => work(connection)),
    owner: async () => owner,
    async ownerIsAlive(other) {
      const [otherHost, identityText] = other.split(' ');
      // Another machine's process cannot be checked from here (an SQLite file on a shared disk).
      if (otherHost !== host) return true;
      const identity = parseIdentity(identityText ?? '');
      if (!identity) return true;
      // This process (its other engines too) is alive by the same test; a predecessor with our pid is not.
      return (await identityIsAlive(identity)) !== 'dead';
    },
    querySync: execute,
    async close() {
      if (database.open) database.close();
    },
  };
}
