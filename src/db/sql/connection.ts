/**
 * What the SQL engine asks of a driver (better-sqlite3, pg): run one statement on a connection, lend a
 * connection for a transaction, and tell whether the owner of a save in flight is still alive.
 */
export interface SqlResult {
  rows: Record<string, unknown>[];
  /** Rows changed by an INSERT, UPDATE or DELETE. */
  affected: number;
}

export interface SqlConnection {
  query(sql: string, params: readonly unknown[]): Promise<SqlResult>;
}

export interface SqlDriver {
  readonly vendor: 'sqlite' | 'postgresql';
  /** Where the database is (a file, or a URL without the password), for messages. */
  readonly location: string;
  /** A statement outside any transaction (the driver picks a connection). */
  query(sql: string, params: readonly unknown[]): Promise<SqlResult>;
  /** Lends one connection, for `work` alone, until it settles. */
  withConnection<T>(work: (connection: SqlConnection) => Promise<T>): Promise<T>;
  /** BEGIN as this database wants it (SQLite takes the write lock at once, so two writers never deadlock). */
  readonly beginStatement: string;
  /** This process's name in the record of saves in flight. */
  owner(): Promise<string>;
  /** Whether the process that wrote `owner` may still be running (false only when it is surely gone). */
  ownerIsAlive(owner: string): Promise<boolean>;
  /** A statement run at once, for 'exit' hooks (where nothing asynchronous runs); only where the driver can. */
  querySync?(sql: string, params: readonly unknown[]): SqlResult;
  close(): Promise<void>;
}
