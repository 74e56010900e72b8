/**
 * `filefield migrate` on the SQL engines: compares the tables with the models and plans what makes them
 * equal: tables to create, columns to add, indexes to make. It never drops or retypes a column (that can
 * lose data): it refuses, naming each such column. The same comparison tells a save that its table is
 * behind its model.
 */
import type { ColumnDefinitionBuilder } from 'kysely';
import { ProgrammingError } from '../../errors.ts';
import type { MigrationStep } from '../engine.ts';
import type { Column, TableSchema } from '../schema.ts';
import type { SqlExecutor } from './executor.ts';
import { sqlType, type Statements } from './statements.ts';

export interface ExistingTables {
  /** Column name → its SQL type (lower case), by table. */
  columns: Map<string, Map<string, string>>;
  indexes: Set<string>;
}

export class MigrationRefused extends ProgrammingError {
  override name = 'MigrationRefused';
}

export async function readExistingTables(executor: SqlExecutor): Promise<ExistingTables> {
  const columns = new Map<string, Map<string, string>>();
  const add = (table: string, column: string, type: string): void => {
    let table_ = columns.get(table);
    if (!table_) columns.set(table, (table_ = new Map()));
    table_.set(column, type.toLowerCase());
  };
  let indexRows: Record<string, unknown>[];
  if (executor.driver.vendor === 'sqlite') {
    const { rows } = await executor.query(
      "select m.name as table_name, p.name as column_name, p.type as data_type from sqlite_master m join pragma_table_info(m.name) p where m.type = 'table'",
    );
    for (const row of rows) add(String(row.table_name), String(row.column_name), String(row.data_type));
    indexRows = (await executor.query("select name from sqlite_master where type = 'index'")).rows;
  } else {
    const { rows } = await executor.query(
      'select table_name, column_name, data_type from information_schema.columns where table_schema = current_schema()',
    );
    for (const row of rows) add(String(row.table_name), String(row.column_name), String(row.data_type));
    indexRows = (await executor.query('select indexname as name from pg_indexes where schemaname = current_schema()')).rows;
  }
  return { columns, indexes: new Set(indexRows.map((row) => String(row.name))) };
}

export function indexName(table: string, column: string): string {
  return `${table}_${column}_idx`;
}

/** A column that holds no null gets the empty value as its default, so adding it to a table with rows works. */
function columnDefinition(column: Column) {
  return (builder: ColumnDefinitionBuilder): ColumnDefinitionBuilder =>
    column.nullable ? builder : builder.notNull().defaultTo(column.type === 'text' ? '' : 0);
}

/** What migrate would run, or a MigrationRefused naming every column it will not drop or retype. */
export function planMigration(statements: Statements, schemas: readonly TableSchema[], existing: ExistingTables, location: string): MigrationStep[] {
  const steps: MigrationStep[] = [];
  const refusals: string[] = [];
  const vendor = statements.vendor;
  const db = statements.db;
  for (const schema of schemas) {
    const current = existing.columns.get(schema.name);
    if (!current) {
      let create = db.schema.createTable(schema.name).addColumn('id', sqlType(vendor, { type: 'integer' }), (column) =>
        vendor === 'sqlite' ? column.primaryKey().autoIncrement() : column.primaryKey().generatedByDefaultAsIdentity());
      for (const column of schema.columns) create = create.addColumn(column.name, sqlType(vendor, column), columnDefinition(column));
      steps.push({ sql: create.compile().sql, description: `create table ${schema.name}` });
    } else {
      for (const column of schema.columns) {
        const type = current.get(column.name);
        if (type === undefined) {
          const add = db.schema.alterTable(schema.name).addColumn(column.name, sqlType(vendor, column), columnDefinition(column));
          steps.push({ sql: add.compile().sql, description: `add column ${schema.name}.${column.name}` });
        } else if (type !== sqlType(vendor, column)) {
          refusals.push(`${schema.name}.${column.name} is ${type} in the database but ${sqlType(vendor, column)} in the model (retyping it could lose data)`);
        }
      }
      for (const name of current.keys()) {
        if (name !== 'id' && !schema.columns.some((column) => column.name === name)) {
          refusals.push(`${schema.name}.${name} is in the database but not in the model (dropping it would lose its data)`);
        }
      }
    }
    for (const column of schema.columns) {
      const name = indexName(schema.name, column.name);
      if (column.indexed && !existing.indexes.has(name)) {
        steps.push({ sql: db.schema.createIndex(name).on(schema.name).column(column.name).compile().sql, description: `index ${schema.name}.${column.name}` });
      }
    }
  }
  if (refusals.length) {
    throw new MigrationRefused(
      location,
      `filefield migrate does not drop or retype columns; change these by hand if you mean to:\n${refusals.map((refusal) => `  ${refusal}`).join('\n')}`,
    );
  }
  return steps;
}

/** Why a table cannot be used as the model says (null when it can). */
export function behindModel(schema: TableSchema, existing: ExistingTables): string | null {
  const current = existing.columns.get(schema.name);
  if (!current) return `The table '${schema.name}' does not exist yet: run \`filefield migrate\`.`;
  const missing = schema.columns.filter((column) => !current.has(column.name)).map((column) => column.name);
  if (missing.length) {
    return `The table '${schema.name}' is behind its model (no column ${missing.map((name) => `'${name}'`).join(', ')}): run \`filefield migrate\`.`;
  }
  return null;
}

