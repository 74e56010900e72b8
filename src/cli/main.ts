/**
 * The `filefield` command. Each subcommand loads its implementation only when it runs, so `--help`
 * and a short `shell -c` start fast.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command('filefield')
    .description("Django's file fields and storages for TypeScript, with a developer shell.")
    .version(version, '-v, --version')
    .showHelpAfterError();

  program
    .command('shell')
    .description("An interactive shell with the project's models, File, ContentFile, storage and settings preloaded")
    .option('--settings <file>', 'the settings file (default: FILEFIELD_SETTINGS, ./filefield.config.*, or the example project)')
    .option('-c, --command <code>', 'run this code and exit instead of opening the prompt')
    .option('--no-imports', 'start with nothing preloaded')
    .option('--sandbox', 'send every write to a temporary copy of the media and the database, thrown away on exit')
    .action(async (options: { settings?: string; command?: string; imports: boolean; sandbox?: boolean }) => {
      const { runShell } = await import('../shell/index.ts');
      process.exitCode = await runShell({
        settingsFile: options.settings,
        command: options.command,
        imports: options.imports,
        sandbox: options.sandbox ?? false,
      });
    });

  return program;
}

await buildProgram().parseAsync(process.argv);
