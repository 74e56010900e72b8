/**
 * The JSON engine: the rows in one lowdb file (Database), the saves in flight in the upload journal beside
 * it, and queries answered in the process. Every change is one locked read-modify-write of the file, so a
 * save is all or nothing: the file is stored first, then the row is written with the file's rename.
 */
import { Database, type DatabaseData } from '../Database.ts';
import type { DatabaseEngine, InFlightUpload, MigrationStep } from '../engine.ts';
import { UploadJournal } from '../journal.ts';
import { rowMatches, sortRows } from '../matching.ts';
import type { Row, SelectQuery, TableSchema, Where } from '../schema.ts';

/** What a file field's value was before the columns were flat (`picture: { name, size, … }`), by column suffix. */
const LEGACY_FILE_KEYS: Record<string, string> = { size: '_size', contentType: '_content_type', width: '_width', height: '_height' };

/** The name a file column holds, in a row of either layout ('' for none). */
function upgradedName(value: unknown): string {
  if (typeof value === 'string') return value;
  const name = (value as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : '';
}

/** A row as written by filefield before file fields had columns of their own, read as today's. */
function upgradeLegacyRow(row: Row): Row {
  let upgraded: Row | null = null;
  for (const [key, value] of Object.entries(row)) {
    if (value === null || typeof value !== 'object' || typeof (value as { name?: unknown }).name !== 'string') continue;
    upgraded ??= { ...row };
    const { name, ...metadata } = value as Record<string, unknown>;
    upgraded[key] = name;
    for (const [property, suffix] of Object.entries(LEGACY_FILE_KEYS)) {
      if (metadata[property] !== undefined) upgraded[key + suffix] = metadata[property];
    }
  }
  return upgraded ?? row;
}

/** Whether a table's rows are in ascending id order (as saves append them, and loaddata sorts them). */
const checkedOrder = new WeakMap<Row[], number>();
function inIdOrder(table: Row[]): boolean {
  // Only an added or removed row can change the order (a changed row keeps its id): the length tells.
  if (checkedOrder.get(table) === table.length) return true;
  for (let index = 1; index < table.length; index++) if (table[index - 1]!.id >= table[index]!.id) return false;
  checkedOrder.set(table, table.length);
  return true;
}

export class JsonEngine implements DatabaseEngine {
  readonly vendor = 'json' as const;
  readonly database: Database;
  readonly uploads: UploadJournal;

  constructor(readonly location: string) {
    this.database = new Database(location);
    this.uploads = new UploadJournal(`${location}.uploads`);
  }

  private async rows(schema: TableSchema): Promise<Row[]> {
    return ((await this.database.read()).tables[schema.name] ?? []).map(upgradeLegacyRow);
  }

  /** The rows a query can match: through the index of an indexed column it asks an exact value of, else all. */
  private async candidates(schema: TableSchema, where: Where | undefined): Promise<Row[]> {
    const parts = where?.kind === 'and' ? where.parts : where ? [where] : [];
    const exact = parts.find((part): part is Extract<Where, { kind: 'lookup' }> =>
      part.kind === 'lookup' && part.lookup === 'exact' && typeof part.value === 'string'
      && schema.columns.some((column) => column.name === part.column && column.indexed));
    if (!exact) return (await this.database.read()).tables[schema.name] ?? [];
    return this.database.rowsWhere(schema.name, exact.column, (value) => upgradedName(value), exact.value);
  }

  async select(schema: TableSchema, query: SelectQuery): Promise<Row[]> {
    const table = await this.candidates(schema, query.where);
    const start = query.offset ?? 0;
    const end = query.limit === undefined ? Infinity : start + query.limit;
    const [only, ...more] = query.orderBy ?? [];
    if (only?.column === 'id' && more.length === 0 && inIdOrder(table)) {
      // Rows are kept in id order: walk them from the right end, and stop once the page is full (first(), last()).
      const found: Row[] = [];
      let skipped = 0;
      for (let step = 0; step < table.length && found.length < end - start; step++) {
        const row = upgradeLegacyRow(table[only.descending ? table.length - 1 - step : step]!);
        if (!rowMatches(row, query.where)) continue;
        if (skipped++ >= start) found.push(row);
      }
      return found;
    }
    let rows = table.map(upgradeLegacyRow).filter((row) => rowMatches(row, query.where));
    if (query.orderBy?.length) rows = sortRows(rows, query.orderBy);
    return rows.slice(start, end);
  }

  async *iterate(schema: TableSchema, query: SelectQuery): AsyncIterable<Row> {
    yield* await this.select(schema, query);
  }

  async count(schema: TableSchema, where?: Where): Promise<number> {
    const rows = (await this.database.read()).tables[schema.name] ?? [];
    return where ? rows.map(upgradeLegacyRow).filter((row) => rowMatches(row, where)).length : rows.length;
  }

  async saveRow(schema: TableSchema, id: number | null, values: Record<string, unknown>, finishing: readonly InFlightUpload[] = []): Promise<number> {
    const saved = await this.database.write((data) => {
      const table = this.database.table(data, schema.name);
      const index = id === null ? -1 : table.findIndex((existing) => existing.id === id);
      const rowId = id ?? this.database.nextId(data, schema.name);
      if (index === -1) {
        table.push({ id: rowId, ...values });
        if (rowId > (data.sequences[schema.name] ?? 0)) data.sequences[schema.name] = rowId;
      } else {
        table[index] = { id: rowId, ...values };
      }
      return rowId;
    });
    // After the row: a crash in between leaves entries whose files a row refers to, which the sweep keeps.
    for (const entry of finishing) await this.uploads.finish(entry);
    return saved;
  }

  private change(schema: TableSchema, where: Where | undefined, edit: (table: Row[], data: DatabaseData) => number): Promise<number> {
    return this.database.write((data) => edit(this.database.table(data, schema.name), data));
  }

  update(schema: TableSchema, where: Where | undefined, values: Record<string, unknown>): Promise<number> {
    return this.change(schema, where, (table) => {
      let changed = 0;
      table.forEach((row, index) => {
        const current = upgradeLegacyRow(row);
        if (!rowMatches(current, where)) return;
        table[index] = { ...current, ...values, id: row.id };
        changed++;
      });
      return changed;
    });
  }

  delete(schema: TableSchema, where: Where | undefined): Promise<number> {
    return this.change(schema, where, (table) => {
      const kept = table.filter((row) => !rowMatches(upgradeLegacyRow(row), where));
      const removed = table.length - kept.length;
      table.splice(0, table.length, ...kept);
      return removed;
    });
  }

  async referencedNames(schema: TableSchema, column: string, names: readonly string[]): Promise<Set<string>> {
    const wanted = new Set(names);
    const found = new Set<string>();
    for (const row of await this.rows(schema)) {
      const name = row[column];
      if (typeof name === 'string' && wanted.has(name)) found.add(name);
    }
    return found;
  }

  async *allReferencedNames(schema: TableSchema, column: string): AsyncIterable<string> {
    const names = new Set<string>();
    for (const row of await this.rows(schema)) {
      const name = row[column];
      if (typeof name === 'string' && name !== '') names.add(name);
    }
    yield* [...names].sort();
  }

  async loadRows(schema: TableSchema, rows: readonly Row[]): Promise<void> {
    await this.database.write((data) => {
      const table = this.database.table(data, schema.name);
      for (const row of rows) {
        const index = table.findIndex((existing) => existing.id === row.id);
        if (index === -1) table.push({ ...row });
        else table[index] = { ...row };
        if (row.id > (data.sequences[schema.name] ?? 0)) data.sequences[schema.name] = row.id;
      }
      table.sort((a, b) => a.id - b.id);
    });
  }

  async summary(): Promise<{ tables: number; rows: number }> {
    const tables = Object.values((await this.database.read()).tables);
    return { tables: tables.length, rows: tables.reduce((total, rows) => total + rows.length, 0) };
  }

  async migrate(): Promise<MigrationStep[]> {
    return []; // a JSON row holds whatever columns its model gives it
  }

  transaction<T>(work: () => Promise<T>): Promise<T> {
    // Each write is atomic on its own; there is no wider transaction over a JSON file.
    return work();
  }

  async close(): Promise<void> {
    this.database.close();
  }
}
