/**
 * QuerySet: a lazy, chainable, awaitable query over a model's rows (Django's). Nothing runs until it is
 * awaited, iterated or asked for a count; the lookups run in the database on the SQL engines. A function
 * predicate filters in the process, after the database has applied everything else.
 */
import type { Ordering, SelectQuery, Where } from '../db/schema.ts';
import { activeDatabase } from './activeDatabase.ts';
import { orderingOf, whereOf } from './lookups.ts';
import type { Model, ModelClass } from './Model.ts';

/** Field lookups to match (Django's spelling: `{ name__icontains: 'a' }`), or a predicate over instances. */
export type Query<M> = Record<string, unknown> | ((instance: M) => boolean);

export class DoesNotExist extends Error {
  override name = 'DoesNotExist';
}

export class MultipleObjectsReturned extends Error {
  override name = 'MultipleObjectsReturned';
}

/** How many rows get() reads to tell "more than one" (Django's MAX_GET_RESULTS). */
const MAX_GET_RESULTS = 21;

interface State<M> {
  /** The lookups, checked when the query runs (a bad one rejects, as the awaited query does). */
  filters: { query: Record<string, unknown>; negated: boolean }[];
  predicates: ((instance: M) => boolean)[];
  orderBy: Ordering[];
  limit?: number;
  offset?: number;
}

const BY_ID: Ordering[] = [{ column: 'id', descending: false }];

export class QuerySet<M extends Model> implements Promise<M[]>, AsyncIterable<M> {
  readonly [Symbol.toStringTag] = 'QuerySet';

  constructor(readonly model: ModelClass<M>, private readonly state: State<M> = { filters: [], predicates: [], orderBy: [] }) {}

  private with(changes: Partial<State<M>>): QuerySet<M> {
    return new QuerySet(this.model, { ...this.state, ...changes });
  }

  private requireUnsliced(what: string): void {
    if (this.state.limit !== undefined || this.state.offset !== undefined) {
      throw new TypeError(`Cannot ${what} a query once a slice (limit/offset) has been taken.`);
    }
  }

  filter(query: Query<M>): QuerySet<M> {
    this.requireUnsliced('filter');
    if (typeof query === 'function') return this.with({ predicates: [...this.state.predicates, query] });
    return this.with({ filters: [...this.state.filters, { query, negated: false }] });
  }

  exclude(query: Query<M>): QuerySet<M> {
    this.requireUnsliced('filter');
    if (typeof query === 'function') return this.with({ predicates: [...this.state.predicates, (instance) => !query(instance)] });
    return this.with({ filters: [...this.state.filters, { query, negated: true }] });
  }

  /** `orderBy('-id', 'name')`: a leading '-' sorts that column from the highest down. */
  orderBy(...names: string[]): QuerySet<M> {
    return this.with({ orderBy: orderingOf(this.model, names) });
  }

  limit(count: number): QuerySet<M> {
    if (!Number.isSafeInteger(count) || count < 0) throw new TypeError(`limit() takes a whole number, 0 or more, got ${count}.`);
    return this.with({ limit: this.state.limit === undefined ? count : Math.min(count, this.state.limit) });
  }

  offset(count: number): QuerySet<M> {
    if (!Number.isSafeInteger(count) || count < 0) throw new TypeError(`offset() takes a whole number, 0 or more, got ${count}.`);
    const limit = this.state.limit === undefined ? undefined : Math.max(0, this.state.limit - count);
    return this.with({ offset: (this.state.offset ?? 0) + count, limit });
  }

  private get where(): Where | undefined {
    const parts = this.state.filters.map(({ query, negated }): Where => {
      const where = whereOf(this.model, query);
      return negated ? { kind: 'not', part: where } : where;
    });
    return parts.length === 0 ? undefined : parts.length === 1 ? parts[0] : { kind: 'and', parts };
  }

  private ordering(): Ordering[] {
    return this.state.orderBy.length ? this.state.orderBy : BY_ID;
  }

  /** The query for the database; with predicates, slicing happens in the process after them. */
  private selectQuery(): SelectQuery {
    const inProcess = this.state.predicates.length > 0;
    return {
      where: this.where,
      orderBy: this.ordering(),
      limit: inProcess ? undefined : this.state.limit,
      offset: inProcess ? undefined : this.state.offset,
    };
  }

  private matchesPredicates(instance: M): boolean {
    return this.state.predicates.every((predicate) => predicate(instance));
  }

  async *[Symbol.asyncIterator](): AsyncIterator<M> {
    const query = this.selectQuery();
    const database = await activeDatabase();
    const inProcess = this.state.predicates.length > 0;
    let skip = inProcess ? this.state.offset ?? 0 : 0;
    let left = inProcess ? this.state.limit ?? Infinity : Infinity;
    if (left === 0) return;
    for await (const row of database.iterate(this.model.schema, query)) {
      const instance = this.model.fromRow(row) as M;
      if (inProcess && !this.matchesPredicates(instance)) continue;
      if (skip > 0) {
        skip--;
        continue;
      }
      yield instance;
      if (--left === 0) return;
    }
  }

  /** Every matching instance, in order. */
  async all(): Promise<M[]> {
    if (this.state.predicates.length) {
      const found: M[] = [];
      for await (const instance of this) found.push(instance);
      return found;
    }
    const query = this.selectQuery();
    const database = await activeDatabase();
    return (await database.select(this.model.schema, query)).map((row) => this.model.fromRow(row) as M);
  }

  then<R1 = M[], R2 = never>(onFulfilled?: ((value: M[]) => R1 | PromiseLike<R1>) | null, onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null): Promise<R1 | R2> {
    return this.all().then(onFulfilled, onRejected);
  }

  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<M[] | R> {
    return this.all().catch(onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<M[]> {
    return this.all().finally(onFinally);
  }

  async count(): Promise<number> {
    if (this.state.predicates.length || this.state.limit !== undefined || this.state.offset !== undefined) return (await this.all()).length;
    const where = this.where;
    return (await activeDatabase()).count(this.model.schema, where);
  }

  async exists(): Promise<boolean> {
    return (await this.limit(1).all()).length > 0;
  }

  /** The first instance in the query's order (by id when none is given), or null. */
  async first(): Promise<M | null> {
    return (await this.limit(1).all())[0] ?? null;
  }

  /** The last instance in the query's order (by id when none is given), or null. */
  async last(): Promise<M | null> {
    if (this.state.limit !== undefined || this.state.offset !== undefined) return (await this.all()).at(-1) ?? null;
    const reversed = this.ordering().map(({ column, descending }) => ({ column, descending: !descending }));
    return (await this.with({ orderBy: reversed }).limit(1).all())[0] ?? null;
  }

  /** The one instance with this id or matching this query; DoesNotExist or MultipleObjectsReturned otherwise. */
  async get(query?: number | string | Query<M>): Promise<M> {
    const narrowed = query === undefined ? this : this.filter(typeof query === 'object' || typeof query === 'function' ? query : { id: query });
    const found = await (narrowed.state.limit === undefined ? narrowed.limit(MAX_GET_RESULTS) : narrowed).all();
    if (found.length === 0) throw new DoesNotExist(`${this.model.name} matching query does not exist.`);
    if (found.length > 1) {
      const count = found.length === MAX_GET_RESULTS ? `more than ${MAX_GET_RESULTS - 1}` : String(found.length);
      throw new MultipleObjectsReturned(`get() returned more than one ${this.model.name} -- it returned ${count}!`);
    }
    return found[0]!;
  }

  /** With predicates, the rows they pick, by id (the database cannot run a function). */
  private async databaseWhere(): Promise<Where | undefined> {
    if (!this.state.predicates.length) return this.where;
    const ids = (await this.all()).map((instance) => instance.id);
    return { kind: 'lookup', column: 'id', lookup: 'in', value: ids };
  }

  /** Sets these fields on every matching row, in one statement; resolves to the number of rows changed. */
  async update(values: Record<string, unknown>): Promise<number> {
    this.requireUnsliced('update');
    const scratch = new this.model();
    const columns: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(values)) {
      const field = this.model.fields[name];
      if (!field) throw new TypeError(`${this.model.name} has no field '${name}' to update (fields: ${Object.keys(this.model.fields).join(', ')}).`);
      Object.assign(columns, field.toColumns(field.assign(value, scratch)));
    }
    const where = await this.databaseWhere();
    return (await activeDatabase()).update(this.model.schema, where, columns);
  }

  /** Deletes every matching row (not their files, as Django); resolves to the number deleted. */
  async delete(): Promise<number> {
    this.requireUnsliced('delete');
    const where = await this.databaseWhere();
    return (await activeDatabase()).delete(this.model.schema, where);
  }
}
