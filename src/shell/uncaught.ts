/**
 * How the prompt reports an uncaught error: filefield's own errors and a Ctrl+C that stopped a statement
 * in short (see errors.ts), every other error as Node prints it. `.stack` prints the last error whole.
 */
import type { EventEmitter } from 'node:events';
import type { REPLServer } from 'node:repl';
import type { WriteStream } from 'node:tty';
import { inspect } from 'node:util';
import { formatInterruption, formatOwnError, isInterruption } from './errors.ts';

/** The parts of Node's REPLServer its own error report uses, and that a replacement must use alike. */
interface ReplInternals {
  _domain: EventEmitter;
  lastError: unknown;
  underscoreErrAssigned: boolean;
  lines: { level: unknown[] };
  clearBufferedCommand(): void;
}

type ErrorListener = (this: EventEmitter, error: unknown) => void;

/** Reports the errors of `server` through `report` first; what it declines (null) goes to Node's report. */
export function shortenOwnErrors(server: REPLServer, colors: boolean, onError?: (error: unknown) => void): void {
  const internals = server as unknown as ReplInternals;
  defineStackCommand(server, internals, colors);
  const domain = internals._domain as EventEmitter | undefined;
  // A Node whose REPL reports errors otherwise keeps its own report (without the short forms).
  if (!domain) return;
  // repl.start gave its domain one 'error' listener, the report Node prints: ours takes its place.
  const [nodeReport] = domain.listeners('error') as ErrorListener[];
  if (nodeReport) domain.removeListener('error', nodeReport);
  domain.on('error', function report(this: EventEmitter, error: unknown) {
    onError?.(error);
    const columns = (server.output as Partial<WriteStream>).columns ?? 0;
    const short = isInterruption(error) ? formatInterruption(colors) : formatOwnError(error, { columns, colors });
    if (short === null) {
      nodeReport?.call(this, error);
      return;
    }
    if (!internals.underscoreErrAssigned) internals.lastError = error;
    server.output.write(short + '\n');
    internals.clearBufferedCommand();
    internals.lines.level = [];
    server.displayPrompt();
  });
}

function defineStackCommand(server: REPLServer, internals: ReplInternals, colors: boolean): void {
  server.defineCommand('stack', {
    help: 'Print the last error (_error) whole, with its stack',
    action() {
      const error = internals.lastError;
      const text = error === undefined ? 'No error yet.'
        : error instanceof Error && error.stack ? error.stack : inspect(error, { colors });
      this.output.write(text + '\n');
      this.displayPrompt();
    },
  });
}
