/**
 * The SQL of every statement the engine runs, built with Kysely (compiled only: statements are run by our
 * own executor, so transactions, the sandbox and --print-sql stay in one place). Django's lookups become
 * SQL here, with the same meaning on both dialects: `contains`/`startswith`/`endswith` are case-sensitive
 * (GLOB on SQLite, LIKE on PostgreSQL), `iexact`/`icontains` are not.
 */
import {
  DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, SqliteAdapter, SqliteIntrospector,
  SqliteQueryCompiler, sql, type Expression, type ExpressionBuilder, type RawBuilder, type SqlBool,
} from 'kysely';
import { columnOf, type Column, type SelectQuery, type TableSchema, type Where } from '../schema.ts';

export type Vendor = 'sqlite' | 'postgresql';

export interface Statement {
  sql: string;
  parameters: readonly unknown[];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export function builderFor(vendor: Vendor): AnyDb {
  return new Kysely({
    dialect: vendor === 'sqlite'
      ? {
        createAdapter: () => new SqliteAdapter(),
        createDriver: () => new DummyDriver(),
        createIntrospector: (db) => new SqliteIntrospector(db),
        createQueryCompiler: () => new SqliteQueryCompiler(),
      }
      : {
        createAdapter: () => new PostgresAdapter(),
        createDriver: () => new DummyDriver(),
        createIntrospector: (db) => new PostgresIntrospector(db),
        createQueryCompiler: () => new PostgresQueryCompiler(),
      },
  });
}

/** The SQL type of a column kind on each dialect (bigint on PostgreSQL: sizes pass 2 GiB). */
export function sqlType(vendor: Vendor, column: Pick<Column, 'type'>): 'text' | 'integer' | 'bigint' {
  if (column.type === 'text') return 'text';
  return vendor === 'sqlite' ? 'integer' : 'bigint';
}

const escapeLike = (text: string): string => text.replace(/[\\%_]/g, (character) => `\\${character}`);
const escapeGlob = (text: string): string => text.replace(/[*?[]/g, (character) => `[${character}]`);

function patternMatch(vendor: Vendor, ref: RawBuilder<unknown>, value: string, lookup: 'contains' | 'startswith' | 'endswith'): RawBuilder<SqlBool> {
  const [before, after] = lookup === 'contains' ? [true, true] : lookup === 'startswith' ? [false, true] : [true, false];
  if (vendor === 'sqlite') {
    const pattern = `${before ? '*' : ''}${escapeGlob(value)}${after ? '*' : ''}`;
    return sql<SqlBool>`${ref} glob ${pattern}`;
  }
  const pattern = `${before ? '%' : ''}${escapeLike(value)}${after ? '%' : ''}`;
  return sql<SqlBool>`${ref} like ${pattern}`;
}

function lookupCondition(vendor: Vendor, schema: TableSchema, where: Extract<Where, { kind: 'lookup' }>): RawBuilder<SqlBool> {
  const ref = sql.ref(where.column);
  const value = where.value;
  let condition: RawBuilder<SqlBool>;
  switch (where.lookup) {
    case 'isnull':
      return value ? sql<SqlBool>`${ref} is null` : sql<SqlBool>`${ref} is not null`;
    case 'exact':
      if (value === null || value === undefined) return sql<SqlBool>`${ref} is null`;
      condition = sql<SqlBool>`${ref} = ${value}`;
      break;
    case 'iexact':
      condition = vendor === 'sqlite'
        ? sql<SqlBool>`${ref} like ${escapeLike(String(value))} escape '\\'`
        : sql<SqlBool>`upper(${ref}) = upper(${String(value)})`;
      break;
    case 'in': {
      const values = value as unknown[];
      if (values.length === 0) return sql<SqlBool>`1 = 0`;
      condition = sql<SqlBool>`${ref} in (${sql.join(values)})`;
      break;
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      if (value === null || value === undefined) return sql<SqlBool>`1 = 0`;
      const operator = { gt: '>', gte: '>=', lt: '<', lte: '<=' }[where.lookup];
      condition = sql<SqlBool>`${ref} ${sql.raw(operator)} ${value}`;
      break;
    }
    case 'contains':
    case 'startswith':
    case 'endswith':
      condition = patternMatch(vendor, ref, String(value), where.lookup);
      break;
    case 'icontains':
      condition = vendor === 'sqlite'
        ? sql<SqlBool>`${ref} like ${`%${escapeLike(String(value))}%`} escape '\\'`
        : sql<SqlBool>`${ref} ilike ${`%${escapeLike(String(value))}%`}`;
      break;
  }
  // Null never matches a comparison, and NOT of it must then hold (Django's exclude() keeps null rows).
  return columnOf(schema, where.column)?.nullable ? sql<SqlBool>`(${ref} is not null and ${condition})` : condition;
}

function condition(vendor: Vendor, schema: TableSchema, where: Where): Expression<SqlBool> {
  switch (where.kind) {
    case 'lookup':
      return lookupCondition(vendor, schema, where);
    case 'and':
      if (where.parts.length === 0) return sql<SqlBool>`1 = 1`;
      return sql<SqlBool>`(${sql.join(where.parts.map((part) => condition(vendor, schema, part)), sql` and `)})`;
    case 'not':
      return sql<SqlBool>`not ${condition(vendor, schema, where.part)}`;
  }
}

export function whereClause(vendor: Vendor, schema: TableSchema, where: Where | undefined) {
  return (eb: ExpressionBuilder<any, any>) => (where ? condition(vendor, schema, where) : eb.lit(true));
}

const isPlainValue = (value: unknown): boolean =>
  value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean';

/**
 * The shape of a condition that is one `exact` lookup of a value (its SQL is the same whatever the value),
 * with that value; null for any other condition.
 */
function exactLookupShape(where: Where | undefined): { shape: string; values: unknown[] } | null {
  if (where === undefined) return { shape: '', values: [] };
  if (where.kind !== 'lookup' || where.lookup !== 'exact' || where.value === null || !isPlainValue(where.value)) return null;
  return { shape: `${where.column}=?`, values: [where.value] };
}

/** A table as a shape sees it: its name and columns (nullability changes the SQL of conditions and orders). */
const tableShapes = new WeakMap<TableSchema, string>();
function tableShape(schema: TableSchema): string {
  let shape = tableShapes.get(schema);
  if (shape === undefined) {
    shape = JSON.stringify([schema.name, schema.columns.map((column) => [column.name, column.nullable])]);
    tableShapes.set(schema, shape);
  }
  return shape;
}

/** More shapes than this are compiled each time (a bound on the cache). */
const MAX_CACHED_SHAPES = 512;

/** The statements of one dialect. */
export class Statements {
  readonly db: AnyDb;
  /**
   * The SQL of the statements every save makes, by their shape (table, columns, condition): compiling
   * through Kysely costs more than running them on SQLite. A shape is kept only when the parameters it
   * predicts are those Kysely gave.
   */
  private readonly compiledByShape = new Map<string, string>();

  constructor(readonly vendor: Vendor) {
    this.db = builderFor(vendor);
  }

  private byShape(shape: string | null, parameters: readonly unknown[], compile: () => Statement): Statement {
    if (shape === null) return compile();
    const known = this.compiledByShape.get(shape);
    if (known !== undefined) return { sql: known, parameters };
    const statement = compile();
    const predicted = statement.parameters.length === parameters.length
      && statement.parameters.every((parameter, index) => Object.is(parameter, parameters[index]));
    if (predicted && this.compiledByShape.size < MAX_CACHED_SHAPES) this.compiledByShape.set(shape, statement.sql);
    return statement;
  }

  select(schema: TableSchema, query: SelectQuery): Statement {
    const lookup = query.limit === undefined && query.offset === undefined ? exactLookupShape(query.where) : null;
    const shape = lookup && `select ${tableShape(schema)} ${lookup.shape} ${JSON.stringify(query.orderBy ?? [])}`;
    return this.byShape(shape, lookup?.values ?? [], () => this.compileSelect(schema, query));
  }

  private compileSelect(schema: TableSchema, query: SelectQuery): Statement {
    let builder = this.db.selectFrom(schema.name).selectAll();
    if (query.where) builder = builder.where(whereClause(this.vendor, schema, query.where));
    for (const { column, descending } of query.orderBy ?? []) {
      // The same null order on both dialects (SQLite's own: nulls first when ascending), said only for columns
      // that hold nulls: on PostgreSQL it would keep the index of a column that holds none (id) from being used.
      const nullable = columnOf(schema, column)?.nullable ?? true;
      builder = builder.orderBy(sql.ref(column), (ob) => {
        const direction = descending ? ob.desc() : ob.asc();
        return nullable ? (descending ? direction.nullsLast() : direction.nullsFirst()) : direction;
      });
    }
    if (query.limit !== undefined) builder = builder.limit(query.limit);
    if (query.offset !== undefined) builder = builder.offset(query.offset);
    if (query.offset !== undefined && query.limit === undefined && this.vendor === 'sqlite') {
      // SQLite has no OFFSET without LIMIT.
      builder = builder.limit(-1);
    }
    return builder.compile();
  }

  count(schema: TableSchema, where: Where | undefined): Statement {
    let builder = this.db.selectFrom(schema.name).select((eb) => eb.fn.countAll().as('count'));
    if (where) builder = builder.where(whereClause(this.vendor, schema, where));
    return builder.compile();
  }

  insert(schema: TableSchema, values: Record<string, unknown>): Statement {
    const columns = Object.keys(values);
    const parameters = Object.values(values);
    const shape = parameters.every(isPlainValue) ? `insert ${tableShape(schema)} ${JSON.stringify(columns)}` : null;
    return this.byShape(shape, parameters, () => this.compileInsert(schema, values));
  }

  private compileInsert(schema: TableSchema, values: Record<string, unknown>): Statement {
    const builder = Object.keys(values).length
      ? this.db.insertInto(schema.name).values(values)
      : this.db.insertInto(schema.name).defaultValues();
    return builder.returning('id').compile();
  }

  updateById(schema: TableSchema, id: number, values: Record<string, unknown>): Statement {
    return this.db.updateTable(schema.name).set(values).where('id', '=', id).compile();
  }

  update(schema: TableSchema, where: Where | undefined, values: Record<string, unknown>): Statement {
    let builder = this.db.updateTable(schema.name).set(values);
    if (where) builder = builder.where(whereClause(this.vendor, schema, where));
    return builder.compile();
  }

  delete(schema: TableSchema, where: Where | undefined): Statement {
    const lookup = exactLookupShape(where);
    return this.byShape(lookup && `delete ${tableShape(schema)} ${lookup.shape}`, lookup?.values ?? [], () => this.compileDelete(schema, where));
  }

  private compileDelete(schema: TableSchema, where: Where | undefined): Statement {
    let builder = this.db.deleteFrom(schema.name);
    if (where) builder = builder.where(whereClause(this.vendor, schema, where));
    return builder.compile();
  }

  referenced(schema: TableSchema, column: string, names: readonly string[]): Statement {
    return this.db.selectFrom(schema.name).select(sql.ref(column).as('name')).distinct().where(sql.ref(column), 'in', names).compile();
  }

  /** A page of the distinct non-empty names in `column` after `after` (keyset paging on the column's index). */
  namesAfter(schema: TableSchema, column: string, after: string, limit: number): Statement {
    return this.db.selectFrom(schema.name).select(sql.ref(column).as('name')).distinct()
      .where(sql.ref(column), '>', after).orderBy(sql.ref(column)).limit(limit).compile();
  }

  insertWithId(schema: TableSchema, row: Record<string, unknown>): Statement {
    return this.db.insertInto(schema.name).values(row).compile();
  }

  /** Rows with their ids, each replacing the row of its id if there is one (loaddata). */
  upsert(schema: TableSchema, rows: readonly Record<string, unknown>[]): Statement {
    const columns = schema.columns.map((column) => column.name);
    return this.db.insertInto(schema.name).values(rows.map((row) => Object.fromEntries(['id', ...columns].map((name) => [name, row[name] ?? null]))))
      .onConflict((conflict) => conflict.column('id').doUpdateSet((eb) => Object.fromEntries(columns.map((name) => [name, eb.ref(`excluded.${name}`)]))))
      .compile();
  }

  /** After rows were given their ids (loaddata): the next id given comes after the highest. */
  moveSequencePastIds(schema: TableSchema): Statement | null {
    if (this.vendor === 'sqlite') return null; // AUTOINCREMENT follows the highest id inserted by itself
    return sql`select setval(pg_get_serial_sequence(${quoteIdentifier(schema.name)}, 'id'), coalesce((select max(id) from ${sql.table(schema.name)}), 0) + 1, false)`.compile(this.db);
  }
}

/** A table name as PostgreSQL's regclass text expects it. */
function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
