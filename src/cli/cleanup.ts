/**
 * `filefield cleanup [--dry-run] [--older-than 1h] [--storage ALIAS]`: removes the stored files that no row
 * references and that were last written longer ago than the grace period (so a save in flight, whose row
 * is not written yet, is never touched), listing each one. --dry-run only lists them.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { formatBytes } from '../files/File.ts';
import { parseGracePeriod } from '../models/cleanup.ts';

/** The command line's --older-than: a grace period, or a clear refusal naming what was given. */
function parseDuration(text: string): number {
  try {
    return parseGracePeriod(text);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

export interface CleanupOptions {
  settingsFile?: string;
  dryRun?: boolean;
  olderThanMs?: number;
  storage?: string;
}

/** Loads the settings and the project's models, then removes (or lists) the orphans; the report lines. */
export async function runCleanup(options: CleanupOptions): Promise<string> {
  const [{ loadSettings }, { storages }, { discoverModels }, { registerModel }, { removeOrphans, DEFAULT_GRACE_MS }] = await Promise.all([
    import('../conf/load.ts'), import('../storage/handler.ts'), import('../server/models.ts'), import('../models/Model.ts'), import('../models/cleanup.ts'),
  ]);
  const settings = await loadSettings({ file: options.settingsFile });
  if (options.storage !== undefined && !(options.storage in settings.STORAGES)) {
    throw new InvalidArgumentError(`there is no storage '${options.storage}' in STORAGES (known: ${Object.keys(settings.STORAGES).join(', ')}).`);
  }
  await storages.load();
  const models = await discoverModels();
  for (const model of models) registerModel(model);
  const orphans = await removeOrphans({ storage: options.storage, olderThanMs: options.olderThanMs ?? DEFAULT_GRACE_MS, dryRun: options.dryRun, models });
  const verb = options.dryRun ? 'would remove' : 'removed';
  const lines = orphans.map((orphan) => `${verb} ${orphan.alias}: ${orphan.name} (${formatBytes(orphan.size)}, last written ${orphan.modifiedTime.toISOString()})`);
  const total = orphans.reduce((sum, orphan) => sum + orphan.size, 0);
  lines.push(orphans.length === 0
    ? 'No stored file is left without a row.'
    : `${options.dryRun ? 'Would remove' : 'Removed'} ${orphans.length} file${orphans.length === 1 ? '' : 's'} (${formatBytes(total)}) that no row references.`);
  return lines.join('\n') + '\n';
}

export function registerCleanupCommand(program: Command, output: (text: string) => void = (text) => process.stdout.write(text)): Command {
  return program
    .command('cleanup')
    .description('Remove stored files that no row references (older than the grace period), listing them')
    .option('--dry-run', 'only list the files that would be removed')
    .option('--older-than <duration>', 'the grace period: only files last written longer ago (e.g. 30m, 1h, 2d)', parseDuration)
    .option('--storage <alias>', 'only this storage of STORAGES (default: every one)')
    .option('--settings <file>', 'the settings file (default: FILEFIELD_SETTINGS, ./filefield.config.*, or the example project)')
    .action(async (options: { dryRun?: boolean; olderThan?: number; storage?: string; settings?: string }) => {
      try {
        output(await runCleanup({ settingsFile: options.settings, dryRun: options.dryRun, olderThanMs: options.olderThan, storage: options.storage }));
      } catch (error) {
        output(`filefield cleanup: ${(error as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
