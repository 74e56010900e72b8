/**
 * `filefield shell`: loads the project's settings (optionally sandboxed), preloads the models, files,
 * storages and settings, then opens the prompt, or runs `-c CODE` or a script piped to standard input.
 */
import { createInterface } from 'node:readline';
import { findSettingsFile, loadSettings } from '../conf/load.ts';
import { settings } from '../conf/settings.ts';
import type { SessionFacts } from './banner.ts';
import { NOTHING_PRELOADED, collectPreloads, installPreloads } from './context.ts';
import type { SessionState } from './reload.ts';
import type { Sandbox } from './sandbox.ts';
import { startTracing } from './traceSwitch.ts';

export interface ShellOptions {
  /** `--settings FILE`; else FILEFIELD_SETTINGS, ./filefield.config.*, or the bundled example. */
  settingsFile?: string;
  /** `-c CODE`: run it and exit. */
  command?: string;
  /** False for `--no-imports`. */
  imports?: boolean;
  /** `--sandbox`: work on throwaway copies of the media and the database. */
  sandbox?: boolean;
  /** `--trace`: print each storage call. */
  trace?: boolean;
  /** `--print-sql`: print each SQL statement run, with its time. */
  printSql?: boolean;
  /** `--replay FILE [--step | --delay MS] [--exit]`: play a prepared script at the prompt. */
  replay?: { file: string; step?: boolean; delayMs?: number; exit?: boolean };
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
  let scriptRunning = false;
  /** The prompt's session; its sandbox is the one to delete at the end (`.reset` replaces it). */
  let state: SessionState | undefined;
  try {
    const found = findSettingsFile({ file: options.settingsFile });
    const script = options.command !== undefined
      ? { lines: options.command.split(/\r?\n/), name: '-c' }
      : process.stdin.isTTY || options.replay ? undefined : { lines: standardInputLines(), name: 'stdin' };
    let replayLines: string[] | undefined;
    if (options.replay && !script) {
      const { readReplayFile } = await import('./replay.ts');
      try {
        replayLines = await readReplayFile(options.replay.file);
      } catch (error) {
        process.stderr.write(`filefield shell: cannot replay ${options.replay.file}: ${(error as Error).message}\n`);
        return 1;
      }
    }
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
    let preloads = NOTHING_PRELOADED;
    try {
      if (imports) preloads = await collectPreloads({ settingsFile: found.file });
    } catch (error) {
      process.stderr.write(`filefield shell: ${(error as Error).message}\n`);
      return 1;
    }
    installPreloads(globalThis, preloads);

    if (script) {
      for (const notice of preloads.notices) process.stderr.write(`filefield shell: ${notice}\n`);
      await startTracing(options, process.stdout);
      const { runScript } = await import('./script.ts');
      // As with `node script.js`, the process ends when the work the script started is done: no forced
      // exit, and the sandbox's copies go on 'exit' (a timer may still save into them).
      const status = await runScript(script.lines, script.name);
      // After an uncaught error nothing else runs, as in `node`.
      scriptRunning = status === 0;
      return status;
    }
    const facts: SessionFacts = {
      settingsFile: found.file,
      settingsSource: found.source,
      sandboxDirectory: sandbox?.directory,
      sandboxNotices: sandbox?.notices,
      imports,
    };
    const [{ runInteractive }, { formatBanner, formatListing }, { historyFile }, { sessionCommands }] = await Promise.all([
      import('./interactive.ts'),
      import('./banner.ts'),
      import('./history.ts'),
      import('./commands.ts'),
    ]);
    const session: SessionState = { settingsFile: found.file, imports, preloads, sandbox };
    state = session;
    return await runInteractive({
      prompt: sandbox ? SANDBOX_PROMPT : PROMPT,
      banner: formatBanner(facts, preloads),
      listing: () => formatListing(session.preloads),
      commands: sessionCommands(session, await startTracing(options, process.stdout)),
      historyFile: historyFile(settings.BASE_DIR),
      replay: replayLines && {
        lines: replayLines,
        step: options.replay!.step ?? false,
        delayMs: options.replay!.delayMs,
        exit: options.replay!.exit ?? false,
      },
    });
  } finally {
    if (!scriptRunning) {
      // `.reset` replaces the sandbox: the one to end is the session's.
      const active = state?.sandbox ?? sandbox;
      await active?.rollBack().catch((error: unknown) => process.stderr.write(`filefield shell: the sandbox's rollback failed: ${(error as Error).message}\n`));
      active?.dispose();
      exitSoon();
    }
  }
}
