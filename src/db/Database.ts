/**
 * The JSON database (lowdb): one file, one table of rows per model, and a sequence per table for ids.
 * Every change is a read-modify-write under a cross-process lock, on data re-read (under the lock too)
 * whenever another process changed the file since we last saw it, written whole (see jsonFile.ts). A file
 * that does not parse as a database stops every read and write with UnreadableDatabase.
 */
import { statSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Low } from 'lowdb';
import { errorCode } from '../errors.ts';
import { JsonFile, emptyData, type DatabaseData, type Row } from './jsonFile.ts';
import { FileLock } from './lock.ts';

export type { DatabaseData, Row } from './jsonFile.ts';

/**
 * Rows are never edited in place (a change replaces the row object), so each row's JSON can be kept and
 * reused, and a table whose rows only grew since the last write extends its previous JSON instead of
 * serializing every row again: a save costs the same whether the table holds a thousand rows or ten thousand,
 * but for writing the file itself.
 */
const rowJson = new WeakMap<Row, string>();

function serializeRow(row: Row): string {
  let json = rowJson.get(row);
  if (json === undefined) {
    json = JSON.stringify(row);
    rowJson.set(row, json);
  }
  return json;
}

interface SerializedTable {
  rows: Row[];
  json: string;
}

function serializeTable(cache: Map<string, SerializedTable>, name: string, rows: Row[]): string {
  const previous = cache.get(name);
  let json: string;
  if (previous && previous.rows.length <= rows.length && previous.rows.every((row, index) => rows[index] === row)) {
    const added = rows.slice(previous.rows.length).map(serializeRow);
    json = added.length === 0 ? previous.json : previous.json + (previous.rows.length ? ',' : '') + added.join(',');
  } else {
    json = rows.map(serializeRow).join(',');
  }
  cache.set(name, { rows: rows.slice(), json });
  return `${JSON.stringify(name)}:[${json}]`;
}

/** A serializer with its own cache (one per Database, as the cache describes that database's last write). */
function makeSerializer(): (data: DatabaseData) => string {
  const cache = new Map<string, SerializedTable>();
  // Compact JSON: pretty-printing would double the cost of every write.
  return (data) => {
    const tables = Object.entries(data.tables).map(([name, rows]) => serializeTable(cache, name, rows));
    return `{"tables":{${tables.join(',')}},"sequences":${JSON.stringify(data.sequences)}}`;
  };
}

/**
 * Identifies one version of the file: each write gives it a later modification time than the last (see
 * jsonFile.ts), and an outside edit a new inode, size or time. Checked on every read, so synchronous: a
 * local stat costs less than a round trip through the thread pool.
 */
async function versionOf(file: string): Promise<string | null> {
  try {
    const stats = statSync(file);
    return `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    throw error;
  }
}

/** Rows of one table by a key taken from one column, valid for one generation of the data. */
interface ColumnIndex {
  generation: number;
  rows: Map<unknown, Row[]>;
}

export class Database {
  private readonly low: Low<DatabaseData>;
  private readonly lock: FileLock;
  private seenVersion: string | null | undefined;
  private folderReady = false;
  /** Bumped whenever the data in memory changes (re-read after another process wrote, or written here). */
  private generation = 0;
  private readonly indexes = new Map<string, ColumnIndex>();

  constructor(readonly file: string) {
    this.low = new Low(new JsonFile(file, makeSerializer()), emptyData());
    this.lock = new FileLock(`${file}.lock`);
  }

  /**
   * The data as the file now holds it. Read again under the lock (`locked` says the caller holds it): a
   * write fills the spare that a reader still holding the file from two versions ago would be reading.
   */
  private async refresh(locked: boolean): Promise<DatabaseData> {
    const version = await versionOf(this.file);
    if (version === this.seenVersion) return this.low.data;
    // Taken under the lock already: the version read is the one the file holds.
    if (version === null || locked) return this.reload(version);
    return this.lock.runIfPossible(async () => this.reload(await versionOf(this.file)));
  }

  private async reload(version: string | null): Promise<DatabaseData> {
    // Not kept before it parsed: a file that fails to parse is read (and refused) again next time.
    this.low.data = (await this.low.adapter.read()) ?? emptyData();
    this.seenVersion = version;
    this.generation++;
    return this.low.data;
  }

  /** The current data, for reading only (never mutate it). */
  async read(): Promise<DatabaseData> {
    return this.refresh(false);
  }

  /**
   * Copies the file to `destination` as a whole version (under the lock, as a read: see refresh), for the
   * shell's sandbox; a plain copy where the lock cannot be taken.
   */
  async copyTo(destination: string): Promise<void> {
    await this.lock.runIfPossible(() => copyFile(this.file, destination));
  }

  /** Removes what this process keeps beside the file (its lock identity); reads and writes still work. */
  close(): void {
    this.lock.close();
  }

  /** Runs `change` on fresh data under the lock and writes the result; nothing is written if it throws. */
  async write<T>(change: (data: DatabaseData) => T): Promise<T> {
    if (!this.folderReady) {
      await mkdir(dirname(this.file), { recursive: true });
      this.folderReady = true;
    }
    return this.lock.run(async () => {
      const data = await this.refresh(true);
      const snapshot = structuredCloneTables(data);
      let result: T;
      try {
        this.generation++;
        result = change(data);
        await this.low.write();
      } catch (error) {
        // Keep memory equal to the file: the failed change must not linger in the cache.
        this.low.data = snapshot;
        this.generation++;
        throw error;
      }
      this.seenVersion = await versionOf(this.file);
      return result;
    });
  }

  /**
   * The rows of `table` whose `column` gives `key` through `keyOf`, from an index built on first use and
   * rebuilt only after the data changed (here, or in another process: the file's version is checked on
   * every call), so a lookup by value costs the same with ten rows or ten thousand.
   */
  async rowsWhere(table: string, column: string, keyOf: (value: unknown) => unknown, key: unknown): Promise<Row[]> {
    const data = await this.refresh(false);
    const indexName = `${table}\u0000${column}`;
    let index = this.indexes.get(indexName);
    if (index?.generation !== this.generation) {
      const rows = new Map<unknown, Row[]>();
      for (const row of data.tables[table] ?? []) {
        const rowKey = keyOf(row[column]);
        const same = rows.get(rowKey);
        if (same) same.push(row);
        else rows.set(rowKey, [row]);
      }
      index = { generation: this.generation, rows };
      this.indexes.set(indexName, index);
    }
    return index.rows.get(key) ?? [];
  }

  table(data: DatabaseData, name: string): Row[] {
    return (data.tables[name] ??= []);
  }

  /**
   * The next id of `table`: above its sequence and above every id in it, so rows added by hand, restored or
   * merged without their sequence never lead to an id given twice.
   */
  nextId(data: DatabaseData, table: string): number {
    let highest = data.sequences[table] ?? 0;
    for (const row of data.tables[table] ?? []) if (row.id > highest) highest = row.id;
    const next = highest + 1;
    data.sequences[table] = next;
    return next;
  }
}

/** A shallow copy deep enough to undo a change: tables and their row arrays (rows are replaced, not edited). */
function structuredCloneTables(data: DatabaseData): DatabaseData {
  return {
    tables: Object.fromEntries(Object.entries(data.tables).map(([name, rows]) => [name, rows.slice()])),
    sequences: { ...data.sequences },
  };
}

/** Copies the JSON database `file` to `destination`: one whole version, even while another process writes. */
export async function copyJsonDatabase(file: string, destination: string): Promise<void> {
  const database = new Database(file);
  try {
    await database.copyTo(destination);
  } finally {
    database.close();
  }
}
