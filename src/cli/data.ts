/**
 * `filefield dumpdata [Model…]` and `filefield loaddata FILE`: Django's commands for moving rows between
 * databases (between engines too). The dump is Django's fixture format, a JSON array of
 * `{ "model": "Profile", "pk": 1, "fields": { column: value, … } }`, written row by row; a load keeps the
 * ids, runs in one transaction, and moves each table's sequence past the highest id it loaded.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Row } from '../db/schema.ts';
import type { ModelClass } from '../models/Model.ts';

export interface DataCommandOptions {
  settingsFile?: string;
  output?: (text: string) => void | Promise<void>;
}

interface FixtureObject {
  model: string;
  pk: number;
  fields: Record<string, unknown>;
}

async function setUp(settingsFile: string | undefined) {
  const [{ loadSettings }, { loadProjectModels }, { activeDatabase }] = await Promise.all([
    import('../conf/load.ts'), import('./projectModels.ts'), import('../models/activeDatabase.ts'),
  ]);
  await loadSettings({ file: settingsFile });
  return { models: await loadProjectModels(), database: await activeDatabase() };
}

function modelNamed(models: readonly ModelClass[], label: string): ModelClass | undefined {
  return models.find((model) => model.tableName === label || model.name === label);
}

/** Writes, through `write` (awaited, so a slow reader holds the dump back), every row of the models named. */
async function writeDump(labels: readonly string[], options: DataCommandOptions): Promise<void> {
  const write = options.output ?? ((text: string) => writeOut(text));
  const { models, database } = await setUp(options.settingsFile);
  const chosen = labels.length ? labels.map((label) => {
    const model = modelNamed(models, label);
    if (!model) throw new Error(`Unknown model '${label}' (models: ${models.map((known) => known.name).join(', ') || 'none; list their modules in MODELS'}).`);
    return model;
  }) : models;
  let first = true;
  await write('[');
  for (const model of chosen) {
    for await (const row of database.iterate(model.schema, { orderBy: [{ column: 'id', descending: false }] })) {
      const { id, ...fields } = row;
      await write(`${first ? '\n' : ',\n'}${JSON.stringify({ model: model.tableName, pk: id, fields } satisfies FixtureObject)}`);
      first = false;
    }
  }
  await write(first ? ']\n' : '\n]\n');
}

function writeOut(text: string): Promise<void> | void {
  if (process.stdout.write(text)) return;
  return new Promise((resolveDrain) => process.stdout.once('drain', resolveDrain));
}

/** The objects of a fixture file, each checked against its model (rows as the model writes them). */
function rowsOf(file: string, objects: unknown, models: readonly ModelClass[]): Map<ModelClass, Row[]> {
  if (!Array.isArray(objects)) throw new Error(`${file} is not a fixture: it must hold a JSON array of { model, pk, fields } objects.`);
  const byModel = new Map<ModelClass, Row[]>();
  objects.forEach((object: Partial<FixtureObject>, index) => {
    const where = `${file}, object ${index + 1}`;
    if (typeof object !== 'object' || object === null || typeof object.model !== 'string') throw new Error(`${where}: no "model".`);
    const model = modelNamed(models, object.model);
    if (!model) throw new Error(`${where}: unknown model '${object.model}' (models: ${models.map((known) => known.name).join(', ') || 'none'}).`);
    if (!Number.isSafeInteger(object.pk) || object.pk! < 1) throw new Error(`${where}: "pk" must be a whole number from 1, got ${JSON.stringify(object.pk)}.`);
    const fields = object.fields ?? {};
    if (typeof fields !== 'object' || fields === null) throw new Error(`${where}: "fields" must be an object.`);
    const columns = new Set(model.schema.columns.map((column) => column.name));
    const unknown = Object.keys(fields).filter((name) => !columns.has(name));
    if (unknown.length) throw new Error(`${where}: ${model.name} has no column '${unknown[0]}' (columns: ${[...columns].join(', ')}).`);
    let row: Record<string, unknown>;
    try {
      // Through the model, so that missing columns get their defaults and a value of the wrong kind is refused.
      row = model.fromRow({ id: object.pk!, ...fields }).toRow();
    } catch (error) {
      throw new Error(`${where}: ${(error as Error).message}`, { cause: error });
    }
    let rows = byModel.get(model);
    if (!rows) byModel.set(model, (rows = []));
    rows.push({ id: object.pk!, ...row });
  });
  return byModel;
}

async function load(file: string, options: DataCommandOptions): Promise<string> {
  const { models, database } = await setUp(options.settingsFile);
  const path = resolve(file);
  let objects: unknown;
  try {
    objects = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path} could not be read as JSON: ${(error as Error).message}`, { cause: error });
  }
  const byModel = rowsOf(path, objects, models);
  let count = 0;
  await database.transaction(async () => {
    for (const [model, rows] of byModel) {
      await database.loadRows(model.schema, rows);
      count += rows.length;
    }
  });
  return `Installed ${count} object(s) from 1 fixture(s)\n`;
}

async function run(name: string, work: () => Promise<void>): Promise<number> {
  const [{ describeError }, { closeActiveDatabase }] = await Promise.all([import('./projectModels.ts'), import('../models/activeDatabase.ts')]);
  try {
    await work();
    return 0;
  } catch (error) {
    process.stderr.write(`filefield ${name}: ${describeError(error)}\n`);
    return 1;
  } finally {
    await closeActiveDatabase().catch(() => undefined);
  }
}

export function runDumpdata(labels: readonly string[], options: DataCommandOptions = {}): Promise<number> {
  return run('dumpdata', () => writeDump(labels, options));
}

export function runLoaddata(file: string, options: DataCommandOptions = {}): Promise<number> {
  return run('loaddata', async () => {
    const report = await load(file, options);
    await (options.output ?? writeOut)(report);
  });
}

export function registerDataCommands(program: Command): void {
  const settingsOption = ['--settings <file>', 'the settings file (default: FILEFIELD_SETTINGS, ./filefield.config.*, or the example project)'] as const;
  program
    .command('dumpdata')
    .description("Print the rows of every model (or those named) as JSON, in Django's fixture format")
    .argument('[models...]', 'model names (default: every model of MODELS)')
    .option(...settingsOption)
    .action(async (labels: string[], options: { settings?: string }) => {
      process.exitCode = await runDumpdata(labels, { settingsFile: options.settings });
    });
  program
    .command('loaddata')
    .description('Load rows from a dumpdata file, ids kept, in one transaction')
    .argument('<file>', 'a file written by filefield dumpdata (or Django)')
    .option(...settingsOption)
    .action(async (file: string, options: { settings?: string }) => {
      process.exitCode = await runLoaddata(file, { settingsFile: options.settings });
    });
}
