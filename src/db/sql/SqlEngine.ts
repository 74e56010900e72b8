/**
 * The SQL engines (sqlite, postgresql): rows in tables made by `filefield migrate`, queries run in the
 * database, and a save's row written in one transaction with the removal of its record of saves in flight.
 */
import type { DatabaseConfig } from '../../conf/databases.ts';
import { ProgrammingError } from '../../errors.ts';
import type { DatabaseEngine, InFlightUpload, MigrationStep, OpenOptions } from '../engine.ts';
import type { Row, SelectQuery, TableSchema, Where } from '../schema.ts';
import type { SqlDriver } from './connection.ts';
import { SqlExecutor } from './executor.ts';
import { IN_FLIGHT_TABLE, SqlInFlightUploads } from './inFlight.ts';
import { behindModel, planMigration, readExistingTables, type ExistingTables } from './migrations.ts';
import { Statements, type Statement } from './statements.ts';

const PAGE_SIZE = 500;
const LOAD_PARAMETERS = 30_000;

export async function openSqlEngine(config: DatabaseConfig, options: OpenOptions = {}): Promise<SqlEngine> {
  const driver = config.ENGINE === 'sqlite'
    ? await (await import('./sqlite.ts')).openSqlite(config.NAME)
    : await (await import('./postgres.ts')).openPostgres(config);
  const engine = new SqlEngine(driver, options);
  if (options.rollbackOnClose) await engine.executor.startSandbox();
  return engine;
}

export class SqlEngine implements DatabaseEngine {
  readonly vendor: 'sqlite' | 'postgresql';
  readonly location: string;
  readonly executor: SqlExecutor;
  readonly statements: Statements;
  readonly uploads: SqlInFlightUploads;
  private existing: Promise<ExistingTables> | null = null;
  private migrations: Promise<unknown> = Promise.resolve();
  /** The check of each table against its model, made once per table in this process. */
  private readonly checked = new Map<string, Promise<void>>();

  constructor(driver: SqlDriver, private readonly options: OpenOptions = {}) {
    this.vendor = driver.vendor;
    this.location = driver.location;
    this.executor = new SqlExecutor(driver);
    this.statements = new Statements(driver.vendor);
    this.uploads = new SqlInFlightUploads(this.executor, this.statements, () => this.ready(IN_FLIGHT_TABLE));
  }

  /** Fails with the way out (run `filefield migrate`) when the table is behind its model; checked once a table. */
  private ready(schema: TableSchema): Promise<void> {
    let check = this.checked.get(schema.name);
    if (!check) {
      check = this.check(schema);
      this.checked.set(schema.name, check);
      check.catch(() => this.checked.delete(schema.name)); // look again next time: migrate may have run meanwhile
    }
    return check;
  }

  private async check(schema: TableSchema): Promise<void> {
    this.existing ??= readExistingTables(this.executor);
    let problem: string | null;
    try {
      problem = behindModel(schema, await this.existing);
    } catch (error) {
      this.existing = null;
      throw error;
    }
    if (!problem) return;
    this.existing = null;
    if (!this.options.migrateOnFirstUse) throw new ProgrammingError(this.location, problem);
    await this.migrateOnly([schema]);
  }

  private run(statement: Statement) {
    return this.executor.query(statement.sql, statement.parameters);
  }

  async select(schema: TableSchema, query: SelectQuery): Promise<Row[]> {
    await this.ready(schema);
    return (await this.run(this.statements.select(schema, query))).rows as Row[];
  }

  async *iterate(schema: TableSchema, query: SelectQuery): AsyncIterable<Row> {
    const end = query.limit === undefined ? Infinity : (query.offset ?? 0) + query.limit;
    for (let offset = query.offset ?? 0; offset < end; offset += PAGE_SIZE) {
      const page = await this.select(schema, { ...query, offset, limit: Math.min(PAGE_SIZE, end - offset) });
      yield* page;
      if (page.length < PAGE_SIZE) return;
    }
  }

  async count(schema: TableSchema, where?: Where): Promise<number> {
    await this.ready(schema);
    return Number((await this.run(this.statements.count(schema, where))).rows[0]?.count ?? 0);
  }

  async saveRow(schema: TableSchema, id: number | null, values: Record<string, unknown>, finishing: readonly InFlightUpload[] = []): Promise<number> {
    await this.ready(schema);
    const rowId = await this.executor.transactionOf(async (run) => {
      let rowId = id;
      if (rowId !== null) {
        const { affected } = await run(this.statements.updateById(schema, rowId, values));
        // A row deleted meanwhile (or an id given by hand) is written anew under its id, as Django does.
        if (affected === 0) await run(this.statements.insertWithId(schema, { id: rowId, ...values }));
      } else {
        rowId = Number((await run(this.statements.insert(schema, values))).rows[0]!.id);
      }
      for (const entry of finishing) {
        const close = this.uploads.finishing(entry);
        if (close) await run(close);
      }
      return rowId;
    });
    for (const entry of finishing) this.uploads.settled(entry);
    return rowId;
  }

  async update(schema: TableSchema, where: Where | undefined, values: Record<string, unknown>): Promise<number> {
    await this.ready(schema);
    if (Object.keys(values).length === 0) return 0;
    return (await this.run(this.statements.update(schema, where, values))).affected;
  }

  async delete(schema: TableSchema, where: Where | undefined): Promise<number> {
    await this.ready(schema);
    return (await this.run(this.statements.delete(schema, where))).affected;
  }

  async referencedNames(schema: TableSchema, column: string, names: readonly string[]): Promise<Set<string>> {
    await this.ready(schema);
    if (names.length === 0) return new Set();
    const { rows } = await this.run(this.statements.referenced(schema, column, names));
    return new Set(rows.map((row) => String(row.name)));
  }

  async *allReferencedNames(schema: TableSchema, column: string): AsyncIterable<string> {
    await this.ready(schema);
    // '' (an empty file field) sorts first and is skipped by starting after it.
    for (let after = ''; ;) {
      const { rows } = await this.run(this.statements.namesAfter(schema, column, after, PAGE_SIZE));
      for (const row of rows) yield String(row.name);
      if (rows.length < PAGE_SIZE) return;
      after = String(rows.at(-1)!.name);
    }
  }

  async loadRows(schema: TableSchema, rows: readonly Row[]): Promise<void> {
    await this.ready(schema);
    // Few enough values a statement for either dialect's limit on parameters.
    const batch = Math.max(1, Math.floor(LOAD_PARAMETERS / (schema.columns.length + 1)));
    await this.executor.transactionOf(async (run) => {
      for (let start = 0; start < rows.length; start += batch) await run(this.statements.upsert(schema, rows.slice(start, start + batch)));
      const moveSequence = this.statements.moveSequencePastIds(schema);
      if (moveSequence) await run(moveSequence);
    });
  }

  async summary(): Promise<{ tables: number; rows: number }> {
    const existing = await readExistingTables(this.executor);
    let rows = 0;
    let tables = 0;
    for (const name of existing.columns.keys()) {
      if (name === IN_FLIGHT_TABLE.name || name === 'sqlite_sequence') continue;
      tables++;
      rows += Number((await this.run(this.statements.count({ name, columns: [] }, undefined))).rows[0]?.count ?? 0);
    }
    return { tables, rows };
  }

  async migrate(schemas: readonly TableSchema[], options: { dryRun?: boolean } = {}): Promise<MigrationStep[]> {
    const steps = await this.migrateOnly(schemas, options);
    this.checked.clear();
    return steps;
  }

  /** One migration at a time in this process: each plans from what the one before it left. */
  private migrateOnly(schemas: readonly TableSchema[], options: { dryRun?: boolean } = {}): Promise<MigrationStep[]> {
    const next = this.migrations.then(() => this.planAndRun(schemas, options));
    this.migrations = next.catch(() => undefined);
    return next;
  }

  private async planAndRun(schemas: readonly TableSchema[], options: { dryRun?: boolean }): Promise<MigrationStep[]> {
    const wanted = schemas.some((schema) => schema.name === IN_FLIGHT_TABLE.name) ? schemas : [...schemas, IN_FLIGHT_TABLE];
    const steps = planMigration(this.statements, wanted, await readExistingTables(this.executor), this.location);
    if (!options.dryRun && steps.length) {
      await this.executor.transactionOf(async (run) => {
        for (const step of steps) await run({ sql: step.sql, parameters: [] });
      });
      this.existing = null;
    }
    return steps;
  }

  transaction<T>(work: () => Promise<T>): Promise<T> {
    return this.executor.transaction(work);
  }

  close(): Promise<void> {
    return this.executor.close();
  }
}
