// The files under fixtures/, and a fresh project per test (its own BASE_DIR, MEDIA_ROOT and DATABASE) for the
// model tests that save into MEDIA_ROOT, on each database engine (json, sqlite, and PostgreSQL on a throwaway
// cluster).
import { after, afterEach, before, beforeEach, describe } from 'node:test';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configure, type SettingsInput } from '../../src/index.ts';
import type { SqlEngine } from '../../src/db/sql/SqlEngine.ts';
import { activeDatabase, closeActiveDatabase, setDatabaseOptions } from '../../src/models/activeDatabase.ts';
import { startPostgres, type PostgresCluster } from './postgres.ts';

export type TestEngine = 'json' | 'sqlite' | 'postgresql';

/** The engines the model tests run on (FILEFIELD_TEST_ENGINES=json,sqlite narrows them). */
export const TEST_ENGINES = (process.env.FILEFIELD_TEST_ENGINES ?? 'json,sqlite,postgresql').split(',') as TestEngine[];

/** Runs `body` (which registers tests) once per engine, each in a suite named after it. */
export function forEachEngine(body: (engine: TestEngine) => void): void {
  for (const engine of TEST_ENGINES) describe(`on ${engine}`, () => body(engine));
}

/** The path of a file under fixtures/. */
export const fixture = (name: string): string => fileURLToPath(new URL(`../../fixtures/${name}`, import.meta.url));

/** The bytes of a file under fixtures/. */
export const bytesOf = (name: string): Buffer => fs.readFileSync(fixture(name));

/**
 * The saves in flight that no row's write closed, on the current settings' database: the `begin` lines of
 * the JSON engine's journal logs without a `done`, or the rows of the SQL engines' filefield_uploads table.
 */
export async function openUploadEntries(): Promise<{ requestedName: string }[]> {
  const engine = await activeDatabase();
  if (engine.vendor === 'json') {
    const folder = `${engine.location}.uploads`;
    if (!fs.existsSync(folder)) return [];
    const open = new Map<string, { requestedName: string }>();
    for (const name of fs.readdirSync(folder)) {
      for (const line of fs.readFileSync(join(folder, name), 'utf8').split('\n').filter(Boolean)) {
        const parsed = JSON.parse(line) as { op: string; token: string; requestedName: string };
        if (parsed.op === 'begin') open.set(parsed.token, parsed);
        else if (parsed.op === 'done') open.delete(parsed.token);
      }
    }
    return [...open.values()];
  }
  const { rows } = await (engine as SqlEngine).executor.query('select requested_name from filefield_uploads');
  return rows.map((row) => ({ requestedName: String(row.requested_name) }));
}

/** The rows of `table` as the database keeps them (read from the JSON file itself, or by a SELECT). */
export async function storedRows(table: string): Promise<Record<string, unknown>[]> {
  const engine = await activeDatabase();
  if (engine.vendor === 'json') return JSON.parse(fs.readFileSync(engine.location, 'utf8')).tables[table] ?? [];
  const { rows } = await (engine as SqlEngine).executor.query(`select * from "${table}" order by id`);
  return rows;
}

export interface ProjectPerTest {
  /** The current test's BASE_DIR (a fresh folder per test). */
  readonly root: string;
  readonly mediaRoot: string;
  /** The current test's database: a file (json, sqlite), or a URL (postgresql). */
  readonly database: string;
  readonly engine: TestEngine;
  /** The cluster of the postgresql engine's tests (started once per suite). */
  readonly cluster: PostgresCluster | null;
  /** The current test's settings (BASE_DIR, MEDIA_ROOT, MEDIA_URL '/media/', DATABASE), with `extra` on top. */
  settings(extra?: SettingsInput): SettingsInput;
  /** A file descriptor on a fixture, closed after the test. */
  openFixture(name: string): number;
}

/**
 * Registers the hooks of a test file whose every test gets a fresh project: a scratch folder
 * (`<tmpdir>/<prefix>XXXXXX`) for the file, a folder in it per test configured as BASE_DIR with its
 * MEDIA_ROOT and DATABASE, the descriptors of openFixture() closed after each test, and at the end the
 * settings reset and the scratch folder removed. Call it once, at the top level of the test file (or of an
 * engine's suite). With `shared`, the tests of the suite share one project, made before the first.
 */
export function projectPerTest(prefix: string, engine: TestEngine = 'json', options: { shared?: boolean } = {}): ProjectPerTest {
  let scratch: string;
  let root: string;
  let counter = 0;
  let database = '';
  let cluster: PostgresCluster | null = null;
  const openFds: number[] = [];

  const project: ProjectPerTest = {
    get root() {
      return root;
    },
    get mediaRoot() {
      return join(root, 'media');
    },
    get database() {
      return database;
    },
    engine,
    get cluster() {
      return cluster;
    },
    settings(extra: SettingsInput = {}): SettingsInput {
      return { BASE_DIR: root, MEDIA_ROOT: project.mediaRoot, MEDIA_URL: '/media/', DATABASE: project.database, ...extra };
    },
    openFixture(name: string): number {
      const fd = fs.openSync(fixture(name), 'r');
      openFds.push(fd);
      return fd;
    },
  };

  const freshProject = async (): Promise<void> => {
    root = join(scratch, `t${++counter}`);
    fs.mkdirSync(root);
    database = engine === 'json' ? join(root, 'db.json') : engine === 'sqlite' ? join(root, 'db.sqlite3') : await cluster!.createDatabase();
    await configure(project.settings());
  };

  before(async () => {
    scratch = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), prefix)));
    // The tests' models are made as they go: their tables are made on first use, as migrate would.
    setDatabaseOptions({ migrateOnFirstUse: true });
    if (engine === 'postgresql') cluster = await startPostgres();
    if (options.shared) await freshProject();
  });

  if (!options.shared) beforeEach(freshProject);

  afterEach(() => {
    for (const fd of openFds.splice(0)) fs.closeSync(fd);
  });

  after(async () => {
    await closeActiveDatabase();
    setDatabaseOptions({});
    await configure({});
    await cluster?.stop();
    fs.chmodSync(scratch, 0o700);
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  return project;
}
