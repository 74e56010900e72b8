/**
 * `filefield check`: reads the whole database (a file that cannot be read is reported, never written over)
 * and proves that every storage of the settings works end to end, by writing a small probe file, reading it
 * back and deleting it, and says in plain words what fails (missing credentials, an unreachable endpoint, a
 * missing bucket, a skewed clock…) for each alias.
 */
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import type { Storage } from '../storage/Storage.ts';

export interface CheckStep {
  step: string;
  ok: boolean;
  detail?: string;
  /** Not tried, because an earlier step failed (ok is false: it was not shown to work). */
  skipped?: boolean;
}

export interface StorageCheck {
  alias: string;
  ok: boolean;
  steps: CheckStep[];
}

export interface CheckOptions {
  settingsFile?: string;
  /** The longest a single step may take, in milliseconds (default 60 s). */
  stepTimeoutMs?: number;
}

const PROBE_PREFIX = '.filefield-check-';
const DEFAULT_STEP_TIMEOUT_MS = 60_000;

/** What the storage APIs' errors mean, without the storage's name (the report is grouped by alias already). */
function describeFailure(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error);
  const { reason, code, message } = error as { reason?: unknown; code?: unknown; message?: unknown };
  // The remote storages' errors carry the cause in plain words apart from the storage and operation.
  if (typeof reason === 'string' && typeof code === 'string') return `${reason} (${code})`;
  const text = typeof message === 'string' ? message : String(error);
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return `permission denied: ${text}`;
    case 'ENOSPC':
    case 'EDQUOT':
      return (error as Error).name === 'OutOfSpaceError' ? text : `the disk is full: ${text}`; // which already says so
    case 'EROFS':
      return `the filesystem is read-only: ${text}`;
    default:
      return text;
  }
}

function withTimeout<T>(promise: Promise<T>, milliseconds: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result within ${Math.round(milliseconds / 1000)} s`)), milliseconds);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** Runs the probe on one storage; never throws, every failure becomes a failed step. */
async function checkStorage(alias: string, open: () => Storage, timeoutMs: number): Promise<StorageCheck> {
  const steps: CheckStep[] = [];
  const run = async <T>(step: string, action: () => Promise<T>, describe: (value: T) => string): Promise<T | undefined> => {
    try {
      const value = await withTimeout(action(), timeoutMs);
      steps.push({ step, ok: true, detail: describe(value) });
      return value;
    } catch (error) {
      steps.push({ step, ok: false, detail: describeFailure(error) });
      return undefined;
    }
  };
  const skip = (step: string, because: string) => steps.push({ step, ok: false, skipped: true, detail: `not tried: ${because}` });
  const finish = (): StorageCheck => ({ alias, ok: steps.every((step) => step.ok), steps });

  const storage = await run('open', async () => open(), (opened) => `${opened.constructor.name}${opened.describe() ? ' ' + opened.describe() : ''}`);
  if (!storage) {
    for (const step of ['write', 'read back', 'delete']) skip(step, 'the storage could not be opened');
    return finish();
  }

  const expected = Buffer.from(`filefield check ${new Date().toISOString()} ${randomBytes(8).toString('hex')}\n`);
  const probeName = `${PROBE_PREFIX}${randomBytes(6).toString('hex')}`;
  const stored = await run('write', () => storage.save(probeName, expected), (name) => `wrote '${name}' (${expected.byteLength} bytes)`);
  if (stored === undefined) {
    for (const step of ['read back', 'delete']) skip(step, 'nothing was written');
    return finish();
  }

  await run(
    'read back',
    async () => {
      const file = await storage.open(stored);
      try {
        const bytes = Buffer.from(await file.read());
        if (!bytes.equals(expected)) {
          throw new Error(`read ${bytes.byteLength} bytes that differ from the ${expected.byteLength} written`);
        }
        return bytes.byteLength;
      } finally {
        await file.close();
      }
    },
    (length) => `${length} bytes, identical`,
  );

  // Deleted even when the read failed, so the check leaves nothing behind.
  await run(
    'delete',
    async () => {
      await storage.delete(stored);
      if (await storage.exists(stored)) throw new Error(`'${stored}' is still there after delete()`);
    },
    () => 'deleted, and gone',
  );
  if (storage.isLocal) {
    await run('clean up', () => storage.removeAbandonedTemporaryFiles(), (removed) =>
      removed.length === 0 ? 'no temporary files left by killed saves' : `removed ${plural(removed.length, 'temporary file')} left by killed saves`);
  }
  return finish();
}

/**
 * Reads the database of the current settings whole, then removes the files that killed saves stored and
 * no row refers to (for the models of settings.MODELS). Reported under the alias 'database'.
 */
export async function checkDatabase(): Promise<StorageCheck> {
  const [{ activeDatabase }, { sweepAbandonedUploads }, { discoverModels }, { registerModel }] = await Promise.all([
    import('../models/activeDatabase.ts'), import('../models/abandonedUploads.ts'), import('../server/models.ts'), import('../models/Model.ts'),
  ]);
  const steps: CheckStep[] = [];
  let database;
  try {
    database = await activeDatabase();
    const { tables, rows } = await database.summary();
    steps.push({ step: 'read', ok: true, detail: `${database.location}: ${plural(rows, 'row')} in ${plural(tables, 'table')}` });
  } catch (error) {
    steps.push({ step: 'read', ok: false, detail: describeFailure(error) });
    return { alias: 'database', ok: false, steps };
  }
  let models: Awaited<ReturnType<typeof discoverModels>> = [];
  try {
    // The sweep finds a recorded file's storage through its model: the project's models must be known.
    models = await discoverModels();
    for (const model of models) registerModel(model);
    const removed = await sweepAbandonedUploads(database);
    steps.push({
      step: 'clean up',
      ok: true,
      detail: removed === 0 ? 'no files left by killed saves' : `removed ${plural(removed, 'file')} that killed saves stored without a row`,
    });
  } catch (error) {
    steps.push({ step: 'clean up', ok: false, detail: describeFailure(error) });
  }
  try {
    const missing = await rowsWithoutFiles(database, models);
    steps.push(missing.count === 0
      ? { step: 'files', ok: true, detail: `every file a row names exists (${plural(missing.checked, 'file')})` }
      : { step: 'files', ok: false, detail: `${missing.count} of the ${plural(missing.checked, 'file')} rows name do not exist: ${missing.examples.join(', ')}${missing.count > missing.examples.length ? ', …' : ''}` });
  } catch (error) {
    steps.push({ step: 'files', ok: false, detail: describeFailure(error) });
  }
  return { alias: 'database', ok: steps.every((step) => step.ok), steps };
}

/** The rows of `models` whose file fields name a file their storage does not have (the first few, and how many). */
async function rowsWithoutFiles(
  database: import('../db/engine.ts').DatabaseEngine,
  models: readonly (typeof import('../models/Model.ts').Model)[],
): Promise<{ checked: number; count: number; examples: string[] }> {
  const result = { checked: 0, count: 0, examples: [] as string[] };
  for (const model of models) {
    for (const [fieldName, field] of model.fileFields()) {
      const column = field.lookupColumn;
      const named = { kind: 'not' as const, part: { kind: 'lookup' as const, column, lookup: 'exact' as const, value: '' } };
      for await (const row of database.iterate(model.schema, { where: named, orderBy: [{ column: 'id', descending: false }] })) {
        const name = row[column];
        if (typeof name !== 'string') continue; // null in a row written before empty names were ''
        result.checked++;
        if (await field.storage.exists(name)) continue;
        result.count++;
        if (result.examples.length < 5) result.examples.push(`${model.name} ${String(row.id)} ${fieldName} '${name}'`);
      }
    }
  }
  return result;
}

/** Loads the settings and checks every storage of STORAGES (in parallel; results in the settings' order). */
export async function checkStorages(options: CheckOptions = {}): Promise<StorageCheck[]> {
  // Loaded here, not at the top, so that registering the command costs nothing for the other commands.
  const [{ loadSettings }, { storages }] = await Promise.all([import('../conf/load.ts'), import('../storage/handler.ts')]);
  const settings = await loadSettings({ file: options.settingsFile });
  const timeoutMs = options.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS;
  return Promise.all(Object.keys(settings.STORAGES).map((alias) => checkStorage(alias, () => storages.get(alias), timeoutMs)));
}

/** The report as the command prints it: the database's result (if given) first, then the storages'. */
export function formatCheckReport(results: readonly StorageCheck[], settingsFile?: string, database?: StorageCheck): string {
  const lines: string[] = [];
  if (settingsFile) lines.push(`Settings: ${settingsFile}`, '');
  const sections = database ? [database, ...results] : results;
  const stepWidth = Math.max(...sections.flatMap((result) => result.steps.map((step) => step.step.length)), 0);
  for (const result of sections) {
    lines.push(`${result.alias}: ${result.ok ? 'ok' : 'FAILED'}`);
    for (const step of result.steps) {
      const mark = step.ok ? 'ok  ' : step.skipped ? '--  ' : 'FAIL';
      lines.push(`  ${mark} ${step.step.padEnd(stepWidth)}${step.detail ? `  ${step.detail}` : ''}`);
    }
    lines.push('');
  }
  const failed = results.filter((result) => !result.ok).length;
  lines.push(
    results.length === 0
      ? 'No storages are configured (STORAGES is empty).'
      : failed === 0
        ? (results.length === 1 ? 'The storage works.' : `All ${results.length} storages work.`)
        : `${failed} of ${plural(results.length, 'storage')} failed.`,
  );
  if (database && !database.ok) lines.push('The database cannot be used (see above).');
  return lines.join('\n') + '\n';
}

/** Adds `check [--settings FILE]` to the CLI; it sets process.exitCode to 1 when any storage fails. */
export function registerCheckCommand(program: Command, output: (text: string) => void = (text) => process.stdout.write(text)): Command {
  return program
    .command('check')
    .description('Check the database (read it whole) and every storage of STORAGES (write a probe file, read it back, delete it)')
    .option('--settings <file>', 'the settings file (default: FILEFIELD_SETTINGS, ./filefield.config.*, or the example project)')
    .action(async (options: { settings?: string }) => {
      try {
        const { findSettingsFile } = await import('../conf/load.ts');
        const results = await checkStorages({ settingsFile: options.settings });
        const database = await checkDatabase();
        output(formatCheckReport(results, findSettingsFile({ file: options.settings }).file, database));
        if (!database.ok || results.some((result) => !result.ok)) process.exitCode = 1;
      } catch (error) {
        output(`filefield check: ${describeFailure(error)}\n`);
        process.exitCode = 1;
      }
    });
}
