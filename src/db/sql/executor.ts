/**
 * Runs statements for the SQL engine: inside the transaction of the calling async flow when there is one
 * (nested transactions become savepoints), publishes each statement with its time on `filefield:sql`,
 * and, for `shell --sandbox`, keeps everything in one outer transaction that close() rolls back.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { sqlChannel, type SqlStatementEvent } from '../sqlChannel.ts';
import type { SqlConnection, SqlDriver, SqlResult } from './connection.ts';
import type { Statement } from './statements.ts';

interface Transaction {
  connection: SqlConnection;
  savepoints: number;
}

export class SqlExecutor {
  private readonly current = new AsyncLocalStorage<Transaction>();
  /** The sandbox's one connection and its never-committed transaction. */
  private sandbox: { release: () => void; transaction: Transaction; done: Promise<void> } | null = null;

  constructor(readonly driver: SqlDriver) {}

  /** Holds one connection in a transaction until close(), which rolls it back. */
  async startSandbox(): Promise<void> {
    let release!: () => void;
    let ready!: (transaction: Transaction) => void;
    const transactionReady = new Promise<Transaction>((resolve) => (ready = resolve));
    const held = new Promise<void>((resolve) => (release = resolve));
    const done = this.driver.withConnection(async (connection) => {
      // Deferred on SQLite: a session that only reads never takes the write lock from other processes.
      await this.run(connection, 'BEGIN', []);
      ready({ connection, savepoints: 0 });
      await held;
      await this.run(connection, 'ROLLBACK', []);
    });
    const transaction = await Promise.race([transactionReady, done.then(() => null as never)]);
    this.sandbox = { release, transaction, done };
  }

  private async run(connection: SqlConnection | null, sql: string, params: readonly unknown[]): Promise<SqlResult> {
    if (!sqlChannel.hasSubscribers) return connection ? connection.query(sql, params) : this.driver.query(sql, params);
    const started = performance.now();
    const event: SqlStatementEvent = { vendor: this.driver.vendor, sql, params, durationMs: 0 };
    try {
      return await (connection ? connection.query(sql, params) : this.driver.query(sql, params));
    } catch (error) {
      event.error = (error as Error).message;
      throw error;
    } finally {
      event.durationMs = performance.now() - started;
      sqlChannel.publish(event);
    }
  }

  private ambient(): Transaction | undefined {
    return this.current.getStore() ?? this.sandbox?.transaction;
  }

  /**
   * One statement: in the caller's transaction, if any. `detached` statements (the record of a save in
   * flight) must outlive a rollback, so they run on a connection of their own where the driver has more
   * than one.
   */
  query(sql: string, params: readonly unknown[] = [], options: { detached?: boolean } = {}): Promise<SqlResult> {
    const transaction = this.ambient();
    if (options.detached && this.driver.vendor === 'postgresql' && !this.sandbox) return this.run(null, sql, params);
    return this.run(transaction?.connection ?? null, sql, params);
  }

  /**
   * `work` in one transaction, committed when it resolves and rolled back when it throws; every statement
   * `work` makes (through the models, a QuerySet…) joins it.
   */
  transaction<T>(work: () => Promise<T>): Promise<T> {
    return this.within((transaction) => this.current.run(transaction, work));
  }

  /**
   * `work` in one transaction, its statements run through the `run` it is given. The engine's own
   * writes (a row and the records it closes) use it: no async context has to be carried to them, and
   * Node's context tracking, which costs every promise of the process once it is on, stays off.
   */
  transactionOf<T>(work: (run: (statement: Statement) => Promise<SqlResult>) => Promise<T>): Promise<T> {
    return this.within((transaction) => work((statement) => this.run(transaction.connection, statement.sql, statement.parameters)));
  }

  /** A transaction (a savepoint inside the caller's): `work` is given it, committed or rolled back after. */
  private async within<T>(work: (transaction: Transaction) => Promise<T>): Promise<T> {
    const outer = this.ambient();
    if (outer) {
      const savepoint = `filefield_${++outer.savepoints}`;
      await this.run(outer.connection, `SAVEPOINT ${savepoint}`, []);
      try {
        const result = await work(outer);
        await this.run(outer.connection, `RELEASE SAVEPOINT ${savepoint}`, []);
        return result;
      } catch (error) {
        await this.run(outer.connection, `ROLLBACK TO SAVEPOINT ${savepoint}`, []).catch(() => undefined);
        throw error;
      }
    }
    return this.driver.withConnection(async (connection) => {
      const transaction: Transaction = { connection, savepoints: 0 };
      await this.run(connection, this.driver.beginStatement, []);
      try {
        const result = await work(transaction);
        await this.run(connection, 'COMMIT', []);
        return result;
      } catch (error) {
        await this.run(connection, 'ROLLBACK', []).catch(() => undefined);
        throw error;
      }
    });
  }

  async close(): Promise<void> {
    if (this.sandbox) {
      this.sandbox.release();
      await this.sandbox.done;
      this.sandbox = null;
    }
    await this.driver.close();
  }
}
