/**
 * The one small interface every database engine implements (json, sqlite, postgresql). It alone knows how
 * rows are laid out and where they are kept; the models layer speaks to it in tables, columns and queries.
 * Engines load on first use, so a project on the JSON file never loads Kysely or a SQL driver.
 */
import type { DatabaseConfig, EngineName } from '../conf/databases.ts';
import type { ContentDigest } from '../files/digest.ts';
import type { JournalEntry, OrphanResolver } from './journal.ts';
import type { Row, SelectQuery, TableSchema, Where } from './schema.ts';

/** A save under way: a file is being stored for a row of `model`, under `requestedName` (then `storedName`). */
export type InFlightUpload = JournalEntry;
export type { OrphanResolver };

/**
 * The record of saves in flight, kept in the same database as the rows: an entry is made before a file's
 * bytes go to the storage and removed with the row's write (in its transaction on SQL engines), so a
 * process that dies in between leaves the entry, and a later save in any process removes the file.
 */
export interface InFlightUploads {
  begin(model: string, field: string, requestedName: string): Promise<InFlightUpload>;
  /** The storage chose `name` and read these bytes; it publishes them once this is recorded. */
  recordPublishing(entry: InFlightUpload, name: string, digest: ContentDigest): Promise<void>;
  recordStored(entry: InFlightUpload, storedName: string): Promise<void>;
  /** The file waits for a row that a later save writes: a clean exit before that keeps it. */
  keepOnCleanExit(entry: InFlightUpload): void;
  /** The row is written without this engine's help, or the file is gone again: the entry is closed. */
  finish(entry: InFlightUpload): Promise<void>;
  /** The names that saves in live processes asked for or stored. */
  namesInProgress(): Promise<Set<string>>;
  /** Deletes (through `resolver`) what saves in dead processes stored and no row refers to. */
  sweep(resolver: OrphanResolver): Promise<number>;
}

export interface MigrationStep {
  sql: string;
  /** What it does, for `filefield migrate`'s output. */
  description: string;
}

export interface DatabaseEngine {
  readonly vendor: EngineName;
  /** Where the rows are, for messages: a file path, or a server URL without its password. */
  readonly location: string;
  readonly uploads: InFlightUploads;

  select(schema: TableSchema, query: SelectQuery): Promise<Row[]>;
  /** The rows one page at a time (never the whole table in memory on SQL engines). */
  iterate(schema: TableSchema, query: SelectQuery): AsyncIterable<Row>;
  count(schema: TableSchema, where?: Where): Promise<number>;
  /**
   * Writes a row (a new one when `id` is null) and closes `finishing` (the entries of the files it refers
   * to) all or nothing; resolves to the row's id.
   */
  saveRow(schema: TableSchema, id: number | null, values: Record<string, unknown>, finishing?: readonly InFlightUpload[]): Promise<number>;
  update(schema: TableSchema, where: Where | undefined, values: Record<string, unknown>): Promise<number>;
  delete(schema: TableSchema, where: Where | undefined): Promise<number>;
  /** Of `names`, those that some row holds in `column` (the file fields' name columns). */
  referencedNames(schema: TableSchema, column: string, names: readonly string[]): Promise<Set<string>>;
  /** Every name rows hold in `column` (a file field's name column), once each, in order, a page at a time. */
  allReferencedNames(schema: TableSchema, column: string): AsyncIterable<string>;
  /** Rows with their ids kept (loaddata); later ids come after the highest. */
  loadRows(schema: TableSchema, rows: readonly Row[]): Promise<void>;
  /** The statements that bring the tables up to the models (none on the JSON engine); run unless `dryRun`. */
  migrate(schemas: readonly TableSchema[], options?: { dryRun?: boolean }): Promise<MigrationStep[]>;
  /** Reads every table whole (filefield check): how many there are and the rows they hold. */
  summary(): Promise<{ tables: number; rows: number }>;
  /** Runs `work` in one transaction (nested calls join it). */
  transaction<T>(work: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Every change goes into one transaction that close() rolls back (`shell --sandbox`). */
  rollbackOnClose?: boolean;
  /** A table behind its model is migrated on first use instead of refused (throwaway test databases). */
  migrateOnFirstUse?: boolean;
}

export async function openEngine(config: DatabaseConfig, options: OpenOptions = {}): Promise<DatabaseEngine> {
  switch (config.ENGINE) {
    case 'json': {
      const { JsonEngine } = await import('./json/JsonEngine.ts');
      return new JsonEngine(config.NAME);
    }
    case 'sqlite':
    case 'postgresql': {
      const { openSqlEngine } = await import('./sql/SqlEngine.ts');
      return openSqlEngine(config, options);
    }
  }
}
