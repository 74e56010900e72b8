/**
 * Scripts: `shell -c CODE` and a script piped to standard input. They run statement by statement
 * through the same evaluator as the prompt (so top-level await, TypeScript and awaited promise values
 * behave alike), results are not echoed, and the first uncaught error stops the script with status 1.
 * After the last line the process lives on as `node` does, while timers, streams and promises the script
 * started are still running; an error thrown or a rejection left unhandled by them ends it with status 1.
 */
import { create as createDomain } from 'node:domain';
import { Recoverable, start, type REPLServer, type ReplOptions } from 'node:repl';
import { PassThrough, Writable } from 'node:stream';
import { inspect } from 'node:util';
import { formatOwnError, hintLine } from './errors.ts';
import { createEvaluator } from './evaluator.ts';
import { settleWithSpinner } from './waiting.ts';

type Outcome = { kind: 'done' } | { kind: 'incomplete'; error: Error } | { kind: 'failed'; error: unknown };

/** A line that starts with `.name` or `?.name` continues the statement above (a chained call). */
const CONTINUATION = /^\s*(\?\.|\.[\p{L}_$#[])/u;

/** Stack frames of Node's REPL machinery say nothing about the script: cut from the first one down. */
const INTERNAL_FRAME = /^\s+at .*\(?node:(vm|repl|domain|internal\/(vm|repl|domain))/;

function describeUncaught(error: unknown, location: string | undefined): string {
  const stream = process.stderr;
  const own = formatOwnError(error, { columns: stream.columns ?? 0, colors: stream.hasColors?.() ?? false, location });
  if (own !== null) return own;
  if (!(error instanceof Error)) return `Uncaught ${inspect(error)}`;
  const text = error.stack ?? `${error.name}: ${error.message}`;
  const lines = text.split('\n');
  const firstInternal = lines.findIndex((line) => INTERNAL_FRAME.test(line));
  return `Uncaught ${(firstInternal === -1 ? lines : lines.slice(0, firstInternal)).join('\n').trimEnd()}`;
}

class ScriptRunner {
  private readonly server: REPLServer;
  /** Where an error reported through the REPL's domain goes: the statement running, if any. */
  private failCurrent: ((error: unknown) => void) | null = null;
  private lateError: { error: unknown } | null = null;
  /** Set once the last line has run: an error from then on ends the process at once, as in `node`. */
  private finished = false;
  private uncaught: () => void = () => {};

  constructor() {
    // Node's evaluator routes runtime errors to the REPL's domain instead of its callback; with a
    // domain of our own (repl.start accepts one) we hear about them.
    const domain = createDomain();
    domain.on('error', (error: unknown) => {
      this.uncaught();
      if (this.failCurrent) this.failCurrent(error);
      else if (this.finished) failAfterTheLastLine(error);
      else this.lateError ??= { error };
    });
    const options: ReplOptions & { domain: typeof domain } = {
      input: new PassThrough(),
      output: new Writable({ write: (_chunk, _encoding, done) => done() }),
      terminal: false,
      prompt: '',
      useGlobal: true,
      domain,
    };
    this.server = start(options);
    const hint = (text: string): void => {
      process.stderr.write(hintLine(text, process.stderr.hasColors?.() ?? false) + '\n');
    };
    const evaluator = createEvaluator(this.server.eval, { settle: settleWithSpinner, hint });
    (this.server as { eval: REPLServer['eval'] }).eval = evaluator.eval;
    this.uncaught = evaluator.uncaught;
  }

  private evaluate(code: string, file: string): Promise<Outcome> {
    return new Promise((resolve) => {
      this.failCurrent = (error) => resolve({ kind: 'failed', error });
      this.server.eval(code, this.server.context, file, (error) => {
        if (error instanceof Recoverable) resolve({ kind: 'incomplete', error: error.err });
        else if (error) resolve({ kind: 'failed', error });
        else resolve({ kind: 'done' });
      });
    }).finally(() => {
      this.failCurrent = null;
    }) as Promise<Outcome>;
  }

  /** Runs the lines; resolves to the exit status after printing the error that stopped them, if any. */
  async run(lines: AsyncIterable<string> | Iterable<string>, sourceName: string): Promise<number> {
    let statement = '';
    let statementStart = 1;
    const fail = (error: unknown, location?: string): number => {
      process.stderr.write(describeUncaught(error, location) + '\n');
      return 1;
    };
    // Evaluates what has accumulated, unless it is unfinished and more lines may come.
    const flush = async (final: boolean): Promise<number | null> => {
      if (statement.trim() === '') {
        statement = '';
        return null;
      }
      const location = `${sourceName} line ${statementStart}`;
      const outcome = await this.evaluate(statement, location);
      if (outcome.kind === 'incomplete' && !final) return null;
      statement = '';
      if (outcome.kind !== 'done') return fail(outcome.error, location);
      if (this.lateError) return fail(this.lateError.error);
      return null;
    };
    try {
      for await (const { line, number, next } of withNextLine(lines)) {
        if (statement === '') statementStart = number;
        statement += line + '\n';
        if (next !== undefined && CONTINUATION.test(next)) continue;
        const status = await flush(false);
        if (status !== null) return status;
      }
      const status = (await flush(true)) ?? 0;
      if (status === 0) this.finished = true;
      return status;
    } finally {
      this.server.close();
    }
  }
}

/** An error from work the script left running: printed, then the process ends as `node` ends it. */
function failAfterTheLastLine(error: unknown): never {
  process.stderr.write(describeUncaught(error, undefined) + '\n');
  process.exit(1);
}

/** Each line with its number and the line after it (to see whether the statement goes on). */
async function* withNextLine(lines: AsyncIterable<string> | Iterable<string>): AsyncGenerator<{ line: string; number: number; next: string | undefined }> {
  let held: { line: string; number: number } | undefined;
  let number = 0;
  for await (const line of lines) {
    number += 1;
    if (held) yield { ...held, next: line };
    held = { line, number };
  }
  if (held) yield { ...held, next: undefined };
}

export function runScript(lines: AsyncIterable<string> | Iterable<string>, sourceName: string): Promise<number> {
  return new ScriptRunner().run(lines, sourceName);
}
