/**
 * Every SQL statement run is published on the `filefield:sql` diagnostics channel, so tools in higher
 * layers (the shell's --print-sql, interleaved with --trace's storage calls) can show it without the
 * database layer knowing them. Publishing costs nothing while no one subscribes.
 */
import { channel } from 'node:diagnostics_channel';

export const SQL_CHANNEL_NAME = 'filefield:sql';

export interface SqlStatementEvent {
  vendor: 'sqlite' | 'postgresql';
  sql: string;
  params: readonly unknown[];
  durationMs: number;
  /** The error's message when the statement failed. */
  error?: string;
}

export const sqlChannel = channel(SQL_CHANNEL_NAME);
