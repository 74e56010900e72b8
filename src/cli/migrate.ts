/**
 * `filefield migrate [--dry-run]`: creates the models' tables and adds their new columns on the SQL
 * engines, printing the SQL it runs (or would run). It never drops or retypes a column.
 */
import type { Command } from 'commander';

export interface MigrateOptions {
  settingsFile?: string;
  dryRun?: boolean;
  output?: (text: string) => void;
}

export async function runMigrate(options: MigrateOptions = {}): Promise<number> {
  const output = options.output ?? ((text) => process.stdout.write(text));
  const [{ loadSettings }, { loadProjectModels, describeError }, { activeDatabase, closeActiveDatabase }] = await Promise.all([
    import('../conf/load.ts'), import('./projectModels.ts'), import('../models/activeDatabase.ts'),
  ]);
  try {
    await loadSettings({ file: options.settingsFile });
    const models = await loadProjectModels();
    const database = await activeDatabase();
    const steps = await database.migrate(models.map((model) => model.schema), { dryRun: options.dryRun });
    if (database.vendor === 'json') {
      output(`The json engine needs no migration: rows are kept as the models give them (${database.location}).\n`);
    } else if (steps.length === 0) {
      output(`No changes: the tables of ${database.location} match the models.\n`);
    } else {
      output(options.dryRun ? `Would run on ${database.location}:\n` : `Ran on ${database.location}:\n`);
      for (const step of steps) output(`-- ${step.description}\n${step.sql};\n`);
    }
    return 0;
  } catch (error) {
    process.stderr.write(`filefield migrate: ${describeError(error)}\n`);
    return 1;
  } finally {
    await closeActiveDatabase().catch(() => undefined);
  }
}

export function registerMigrateCommand(program: Command): Command {
  return program
    .command('migrate')
    .description("Create the models' tables and add their new columns (SQL engines); never drops or retypes a column")
    .option('--settings <file>', 'the settings file (default: FILEFIELD_SETTINGS, ./filefield.config.*, or the example project)')
    .option('--dry-run', 'print the SQL without running it')
    .action(async (options: { settings?: string; dryRun?: boolean }) => {
      process.exitCode = await runMigrate({ settingsFile: options.settings, dryRun: options.dryRun });
    });
}
