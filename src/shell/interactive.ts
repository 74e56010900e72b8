/**
 * The interactive prompt: Node's REPL (line editing, multi-line input, top-level await, `_`/`_error`,
 * completion, preview) with the shell's evaluator, writer, `.ls` command and project history.
 */
import { once } from 'node:events';
import { start, type REPLEval, type ReplOptions } from 'node:repl';
import type { SessionCommand } from './commands.ts';
import { trackCompletion } from './completion.ts';
import { hintLine } from './errors.ts';
import { createEvaluator } from './evaluator.ts';
import { HISTORY_SIZE, historyWritten, setupProjectHistory } from './history.ts';
import { createWriter } from './presentation.ts';
import { shortenOwnErrors } from './uncaught.ts';
import { interactiveSettler } from './waiting.ts';

export interface InteractiveOptions {
  prompt: string;
  banner: string;
  /** What `.ls` prints (it changes with `.reload`). */
  listing(): string;
  historyFile: string;
  /** `--replay FILE`: play these lines first; `exit` closes the session after them (`--exit`). */
  replay?: { lines: string[]; step: boolean; delayMs?: number; exit: boolean };
  /** The session's own commands (`.reload`, `.reset`, `.trace`), by name. */
  commands?: Record<string, SessionCommand>;
}

/** Runs the prompt until .exit or Ctrl+D; resolves to the exit status. */
export async function runInteractive(options: InteractiveOptions): Promise<number> {
  process.stdout.write(options.banner);
  const colors = process.stdout.hasColors?.() ?? false;
  const writer = createWriter(colors, () => process.stdout.columns);
  const replOptions: ReplOptions & { historySize: number } = {
    prompt: options.prompt,
    input: process.stdin,
    output: process.stdout,
    // The real global object: values made at the prompt and in the library share one realm, so
    // `instanceof Uint8Array` and friends hold both ways.
    useGlobal: true,
    useColors: colors,
    // Lets Ctrl+C stop a runaway loop or a hanging `await`, as in `node`'s own prompt.
    breakEvalOnSigint: true,
    // Passed on to readline (the typings omit it): the most lines kept, and so written to the file.
    historySize: HISTORY_SIZE,
    // A replayed demo shows each value when its statement runs, not beforehand as a preview.
    preview: options.replay === undefined,
    writer,
  };
  const server = start(replOptions);
  const exited = once(server, 'exit');
  const completion = trackCompletion(server);
  const hint = (text: string): void => {
    server.output.write(hintLine(text, colors) + '\n');
  };
  // Node's evaluator only exists inside repl.start (passing `eval` would replace it): wrap it afterwards.
  const evaluator = createEvaluator(server.eval, {
    settle: interactiveSettler(server),
    isCompleting: completion.isCompleting,
    completed: completion.evaluated,
    hint,
    inputDone: writer.noteInput,
  });
  (server as { eval: REPLEval }).eval = evaluator.eval;
  let errors = 0;
  shortenOwnErrors(server, colors, () => {
    errors += 1;
    evaluator.uncaught();
  });
  const play = async (lines: string[], how: { step: boolean; delayMs?: number }): Promise<void> => {
    const { replay } = await import('./replay.ts');
    await replay(server, lines, { ...how, colors, prompt: options.prompt });
  };
  server.defineCommand('replay', {
    help: 'Play a script as if typed, each statement then its value (.replay [--step] FILE)',
    action(argument: string) {
      const step = /^--step\s+/.test(argument);
      const file = argument.replace(/^--step\s+/, '').trim();
      if (file === '' || file === '--step') {
        this.output.write('.replay [--step] FILE\n');
        this.displayPrompt();
        return;
      }
      void import('./replay.ts').then(({ readReplayFile }) => readReplayFile(file)).then(
        (lines) => {
          this.displayPrompt();
          return play(lines, { step });
        },
        (error: Error) => {
          this.output.write(`Cannot replay ${JSON.stringify(file)}: ${error.message}\n`);
          this.displayPrompt();
        },
      );
    },
  });
  for (const [name, command] of Object.entries(options.commands ?? {})) {
    server.defineCommand(name, {
      help: command.help,
      action(argument: string) {
        Promise.resolve()
          .then(() => command.action(argument.trim(), this.output))
          .catch((error: unknown) => this.output.write(`.${name}: ${(error as Error).message}\n`))
          .finally(() => this.displayPrompt());
      },
    });
  }
  server.defineCommand('ls', {
    help: 'List the preloaded names, with a line of help for each',
    action() {
      this.output.write(options.listing());
      this.displayPrompt();
    },
  });
  await setupProjectHistory(server, options.historyFile);
  if (options.replay) {
    await play(options.replay.lines, options.replay);
    if (options.replay.exit) server.close();
  }
  await exited;
  await historyWritten(server);
  return options.replay?.exit && errors > 0 ? 1 : 0;
}
