/**
 * What the database layer is told about a model: its table and columns, and queries over them as
 * data (a tree of lookups), so each engine decides how to run them: SQL on the SQL engines, a
 * predicate over the rows on the JSON engine.
 */

export type ColumnType = 'text' | 'integer';

export interface Column {
  name: string;
  type: ColumnType;
  nullable: boolean;
  /** Rows are looked up by this column (the media server finds a row by its file name): it gets an index. */
  indexed?: boolean;
}

export interface TableSchema {
  name: string;
  /** Every column but `id`, which every table has (an integer key the database gives). */
  columns: readonly Column[];
}

/** A row as the database layer hands it out: column values keyed by column name, `id` a number. */
export type Row = Record<string, unknown> & { id: number };

export const LOOKUPS = ['exact', 'iexact', 'in', 'gt', 'gte', 'lt', 'lte', 'contains', 'icontains', 'startswith', 'endswith', 'isnull'] as const;
export type Lookup = (typeof LOOKUPS)[number];

export type Where =
  | { kind: 'lookup'; column: string; lookup: Lookup; value: unknown }
  | { kind: 'and'; parts: Where[] }
  | { kind: 'not'; part: Where };

export interface Ordering {
  column: string;
  descending: boolean;
}

export interface SelectQuery {
  where?: Where;
  orderBy?: readonly Ordering[];
  limit?: number;
  offset?: number;
}

export const ID_COLUMN: Column = { name: 'id', type: 'integer', nullable: false };

/** The column of `schema` called `name` (`id` included), or undefined. */
export function columnOf(schema: TableSchema, name: string): Column | undefined {
  return name === 'id' ? ID_COLUMN : schema.columns.find((column) => column.name === name);
}
