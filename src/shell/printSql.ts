/**
 * `shell --print-sql`: each SQL statement the session runs, as django-extensions' shell_plus prints them,
 * with its parameters and time, read from the database layer's `filefield:sql` channel (so `--trace`'s
 * storage calls, from their own channel, interleave with them in the order they happened).
 */
import { inspect } from 'node:util';
import { sqlChannel, type SqlStatementEvent } from '../db/sqlChannel.ts';

export function formatStatement(event: SqlStatementEvent): string {
  const params = event.params.length ? `\n  params ${inspect(event.params, { breakLength: Infinity, maxStringLength: 200 })}` : '';
  const outcome = event.error ? `failed after ${event.durationMs.toFixed(3)} ms: ${event.error}` : `${event.durationMs.toFixed(3)} ms`;
  return `${event.sql};${params}\n  [${event.vendor}: ${outcome}]\n`;
}

/** Prints every statement from now on; returns the function that stops it. */
export function printSql(write: (text: string) => void = (text) => process.stdout.write(text)): () => void {
  const listener = (event: unknown): void => write(formatStatement(event as SqlStatementEvent));
  sqlChannel.subscribe(listener);
  return () => sqlChannel.unsubscribe(listener);
}
