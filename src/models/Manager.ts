/**
 * Manager: the table-level queries of a model (Django's Model.objects), answered from the JSON database.
 */
import type { Row } from '../db/Database.ts';
import { connection } from './connection.ts';
import { FileField } from './FileField.ts';
import type { Model, ModelClass } from './Model.ts';

/** Field values to match (a FieldFile matches its name), or a predicate over instances. */
export type Query<M> = Record<string, unknown> | ((instance: M) => boolean);

export class DoesNotExist extends Error {
  override name = 'DoesNotExist';
}

export class MultipleObjectsReturned extends Error {
  override name = 'MultipleObjectsReturned';
}

export class Manager<M extends Model> {
  constructor(readonly model: ModelClass<M>) {}

  private async rows(): Promise<Row[]> {
    const { database } = connection();
    return (await database.read()).tables[this.model.tableName] ?? [];
  }

  private instances(rows: readonly Row[]): M[] {
    return rows.map((row) => this.model.fromRow(row) as M);
  }

  private matcher(query: Query<M>): (instance: M) => boolean {
    if (typeof query === 'function') return query;
    const fields = this.model.fields;
    for (const key of Object.keys(query)) {
      if (key !== 'id' && !(key in fields)) {
        throw new TypeError(`Cannot filter ${this.model.name} on '${key}': choices are id, ${Object.keys(fields).join(', ')}.`);
      }
    }
    return (instance) => Object.entries(query).every(([key, wanted]) =>
      key === 'id' ? instance.id === Number(wanted) : fields[key]!.matches((instance as any)[key], wanted));
  }

  /** Makes and saves an instance. */
  async create(data: Record<string, unknown> = {}): Promise<M> {
    const instance = new this.model(data) as M;
    await instance.save();
    return instance;
  }

  async all(): Promise<M[]> {
    return this.instances(await this.rows());
  }

  async filter(query: Query<M>): Promise<M[]> {
    const matches = this.matcher(query);
    return this.instances(await this.candidateRows(query)).filter(matches);
  }

  /** The rows a query can match: found through the index of a file name it asks for, else every row. */
  private async candidateRows(query: Query<M>): Promise<readonly Row[]> {
    if (typeof query === 'function') return this.rows();
    const fileLookup = Object.entries(query).find(([key, wanted]) => this.model.fields[key] instanceof FileField && typeof wanted === 'string');
    if (!fileLookup) return this.rows();
    const [column, name] = fileLookup;
    return connection().database.rowsWhere(this.model.tableName, column, storedFileName, name);
  }

  /** The one instance with this id (or matching this query); DoesNotExist or MultipleObjectsReturned otherwise. */
  async get(query: number | Query<M>): Promise<M> {
    if (typeof query === 'number' || typeof query === 'string') {
      const id = Number(query);
      const row = (await this.rows()).find((candidate) => candidate.id === id);
      if (!row) throw new DoesNotExist(`${this.model.name} matching query does not exist.`);
      return this.model.fromRow(row) as M;
    }
    const found = await this.filter(query);
    if (found.length === 0) throw new DoesNotExist(`${this.model.name} matching query does not exist.`);
    if (found.length > 1) throw new MultipleObjectsReturned(`get() returned more than one ${this.model.name} -- it returned ${found.length}!`);
    return found[0]!;
  }

  /** The instance with the lowest id, or null. */
  async first(): Promise<M | null> {
    const rows = await this.rows();
    return rows.length ? (this.model.fromRow(rows.reduce((low, row) => (row.id < low.id ? row : low))) as M) : null;
  }

  /** The instance with the highest id, or null. */
  async last(): Promise<M | null> {
    const rows = await this.rows();
    return rows.length ? (this.model.fromRow(rows.reduce((high, row) => (row.id > high.id ? row : high))) as M) : null;
  }

  async count(): Promise<number> {
    return (await this.rows()).length;
  }
}

/** The name a file column holds ('' for none), as FileField.matches compares it. */
function storedFileName(value: unknown): string {
  if (typeof value === 'string') return value;
  const name = (value as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : '';
}
