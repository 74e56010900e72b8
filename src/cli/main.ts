/**
 * The `filefield` command. Each subcommand loads its implementation only when it runs, so `--help`
 * and a short `shell -c` start fast.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { registerCheckCommand } from './check.ts';
import { registerCleanupCommand } from './cleanup.ts';
import { registerDataCommands } from './data.ts';
import { registerMigrateCommand } from './migrate.ts';

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
    .option('--sandbox', 'send every write to a temporary copy of the media and the database (a transaction on SQL engines), thrown away on exit')
    .option('--trace', 'print each storage call (save, open, exists…) with its name, bytes and time')
    .option('--print-sql', 'print each SQL statement run, with its parameters and time')
    .option('--replay <file>', 'play a prepared script at the prompt as if typed, each statement then its value')
    .option('--step', 'with --replay: wait for Enter before each statement')
    .option('--delay <ms>', 'with --replay: pause this many milliseconds before each statement', parseMilliseconds)
    .option('--exit', 'with --replay: leave once the script has played (status 1 if a statement failed)')
    .action(async (options: ShellCommandOptions) => {
      const { runShell } = await import('../shell/index.ts');
      process.exitCode = await runShell({
        settingsFile: options.settings,
        command: options.command,
        imports: options.imports,
        sandbox: options.sandbox ?? false,
        trace: options.trace ?? false,
        printSql: options.printSql ?? false,
        replay: options.replay === undefined ? undefined
          : { file: options.replay, step: options.step, delayMs: options.delay, exit: options.exit },
      });
    });

  program
    .command('serve')
    .description('A development server for the media files (MEDIA_URL) and an upload page for the models')
    .option('--port <port>', 'the port to listen on (0 picks a free one)', parsePort, 8000)
    .option('--host <address>', 'the address to listen on (0.0.0.0 for every interface)', '127.0.0.1')
    .option('--settings <file>', 'the settings file (default: FILEFIELD_SETTINGS, ./filefield.config.*, or the example project)')
    .action(async (options: { port: number; host: string; settings?: string }) => {
      const { runServeCommand } = await import('../server/index.ts');
      process.exitCode = await runServeCommand({ settingsFile: options.settings, port: options.port, host: options.host });
    });

  program
    .command('init')
    .description("Start a project here: filefield.config.ts, models.ts (the article's Profile) and .gitignore lines; never overwrites a file")
    .action(async () => {
      const { runInit } = await import('./init.ts');
      process.exitCode = runInit(process.cwd(), (text) => process.stdout.write(text), (text) => process.stderr.write(text));
    });

  // check.ts loads its storages only when the command runs.
  registerCheckCommand(program);
  registerMigrateCommand(program);
  registerDataCommands(program);
  registerCleanupCommand(program);

  return program;
}

interface ShellCommandOptions {
  settings?: string;
  command?: string;
  imports: boolean;
  sandbox?: boolean;
  trace?: boolean;
  printSql?: boolean;
  replay?: string;
  step?: boolean;
  delay?: number;
  exit?: boolean;
}

function parseMilliseconds(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('a delay is a whole number of milliseconds.');
  return Number(value);
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError('a port is a whole number from 0 to 65535.');
  return port;
}

await buildProgram().parseAsync(process.argv);
