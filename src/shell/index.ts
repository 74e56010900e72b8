/**
 * `filefield shell`: loads the project's settings (optionally sandboxed), preloads the models, files,
 * storages and settings, then opens the prompt, or runs `-c CODE` or a script piped to standard input.
 */
import { createInterface } from 'node:readline';
import { findSettingsFile, loadSettings } from '../conf/load.ts';
import { settings } from '../conf/settings.ts';
import type { SessionFacts } from './banner.ts';
import { NOTHING_PRELOADED, collectPreloads, installPreloads } from './context.ts';
import type { Sandbox } from './sandbox.ts';

export interface ShellOptions {
  /** `--settings FILE`; else FILEFIELD_SETTINGS, ./filefield.config.*, or the bundled example. */
  settingsFile?: string;
  /** `-c CODE`: run it and exit. */
  command?: string;
  /** False for `--no-imports`. */
  imports?: boolean;
  /** `--sandbox`: work on throwaway copies of the media and the database. */
  sandbox?: boolean;
  /** `--print-sql`: print each SQL statement run, with its time. */
  printSql?: boolean;
}

export const PROMPT = 'filefield> ';
export const SANDBOX_PROMPT = 'filefield (sandbox)> ';

/** Read only once iterated: readline drops the lines it reads before its iterator exists. */
async function* standardInputLines(): AsyncGenerator<string> {
  yield* createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
}

/**
 * Like Node's own REPL, leaving the shell ends the process even if code run in it left a timer or a
 * server behind. Unreferenced, the timer changes nothing when nothing else is left: the process then
 * ends by itself, with the exit code the caller sets meanwhile.
 */
function exitSoon(): void {
  setTimeout(() => process.exit(), 0).unref();
}

/** Runs the shell; resolves to the process's exit status (0, or 1 after an uncaught error). */
export async function runShell(options: ShellOptions = {}): Promise<number> {
  const imports = options.imports ?? true;
  let sandbox: Sandbox | undefined;
  try {
    const found = findSettingsFile({ file: options.settingsFile });
    const script = options.command !== undefined
      ? { lines: options.command.split(/\r?\n/), name: '-c' }
      : process.stdin.isTTY ? undefined : { lines: standardInputLines(), name: 'stdin' };
    try {
      await loadSettings({ file: options.settingsFile });
      if (options.sandbox) {
        // Imported by the sessions that use it only, as is everything below: each module costs start-up time.
        const { enterSandbox } = await import('./sandbox.ts');
        // The prompt handles Ctrl+C itself; a script is ended by it, and the copies must go too.
        sandbox = await enterSandbox({ signals: script ? ['SIGTERM', 'SIGHUP', 'SIGINT'] : ['SIGTERM', 'SIGHUP'] });
      }
    } catch (error) {
      process.stderr.write(`filefield shell: ${(error as Error).message}\n`);
      return 1;
    }
    if (options.printSql) (await import('./printSql.ts')).printSql();
    const preloads = imports ? await collectPreloads({ settingsFile: found.file }) : NOTHING_PRELOADED;
    installPreloads(globalThis, preloads);

    if (script) {
      for (const notice of preloads.notices) process.stderr.write(`filefield shell: ${notice}\n`);
      const { runScript } = await import('./script.ts');
      return await runScript(script.lines, script.name);
    }
    const facts: SessionFacts = {
      settingsFile: found.file,
      settingsSource: found.source,
      sandboxDirectory: sandbox?.directory,
      sandboxNotices: sandbox?.notices,
      imports,
    };
    const [{ runInteractive }, { formatBanner, formatListing }, { historyFile }] = await Promise.all([
      import('./interactive.ts'),
      import('./banner.ts'),
      import('./history.ts'),
    ]);
    return await runInteractive({
      prompt: sandbox ? SANDBOX_PROMPT : PROMPT,
      banner: formatBanner(facts, preloads),
      listing: formatListing(preloads),
      historyFile: historyFile(settings.BASE_DIR),
    });
  } finally {
    await sandbox?.rollBack().catch((error: unknown) => process.stderr.write(`filefield shell: the sandbox's rollback failed: ${(error as Error).message}\n`));
    sandbox?.dispose();
    exitSoon();
  }
}
