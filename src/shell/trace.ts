/**
 * `--trace` / `.trace on|off`: a line for each storage call (from the `filefield:storage` channel), printed
 * as it completes, on the same output as `--print-sql`'s statements (`filefield:sql`), so that the two
 * interleave in the order they happened.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { inspect } from 'node:util';
import { errorCode } from '../errors.ts';
import { formatBytes } from '../files/File.ts';
import { STORAGE_CHANNEL_NAME, type StorageCall } from '../storage/tracing.ts';
import { dim } from './errors.ts';

export interface TraceOutput {
  write(text: string): void;
  colors: boolean;
  /** On a terminal a spinner may be drawn on the current line: clear it before writing. */
  terminal: boolean;
}

function milliseconds(value: number | undefined): string {
  return value === undefined ? '' : ` ${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;
}

export function describeStorageCall(call: StorageCall): string {
  const storage = call.alias === null ? call.backend : `${call.alias} (${call.backend})`;
  const name = call.name === null ? '' : inspect(call.name);
  const bytes = call.bytes === null ? '' : ` ${formatBytes(call.bytes)}`;
  const failed = call.error === undefined ? '' : ` failed: ${errorCode(call.error) ?? (call.error as Error)?.name ?? 'error'}`;
  return `storage ${storage} ${call.method}(${name})${bytes}${milliseconds(call.durationMs)}${failed}`;
}

/** Writes `text` on the trace output, first clearing a spinner a terminal may show on the current line. */
function writeLine(output: TraceOutput, text: string): void {
  output.write(`${output.terminal ? '\r\x1b[K' : ''}${text}`);
}

/** Subscribes to one channel with a line printer; returns the unsubscribe. */
function follow<T>(name: string, describe: (message: T) => string, output: TraceOutput): () => void {
  const print = (message: unknown): void => {
    const line = `  ${describe(message as T)}`;
    writeLine(output, `${dim(line, output.colors)}\n`);
  };
  subscribe(name, print);
  return () => unsubscribe(name, print);
}

export function traceStorage(output: TraceOutput): () => void {
  return follow(STORAGE_CHANNEL_NAME, describeStorageCall, output);
}

/** `--print-sql` (printSql.ts words each statement) on the same output, so the two interleave in order. */
export async function printSqlTo(output: TraceOutput): Promise<() => void> {
  const { printSql } = await import('./printSql.ts');
  return printSql((text) => writeLine(output, text));
}
