/**
 * The prompt's history, kept per project (BASE_DIR/.filefield_history) rather than in Node's
 * ~/.node_repl_history, so Up recalls what was typed in this project's shell; capped in length.
 */
import { join } from 'node:path';
import type { REPLServer } from 'node:repl';

export const HISTORY_FILE_NAME = '.filefield_history';
/** Lines kept (readline drops the oldest beyond this, in memory and so in the file). */
export const HISTORY_SIZE = 1000;

export function historyFile(baseDir: string): string {
  return join(baseDir, HISTORY_FILE_NAME);
}

/** Loads the history into the prompt and saves every new line; an unwritable file only costs persistence. */
export function setupProjectHistory(server: REPLServer, file: string): Promise<void> {
  return new Promise((resolve) => {
    server.setupHistory(file, (error) => {
      if (error) server.output.write(`History will not be kept: ${error.message}\n`);
      resolve();
    });
  });
}

/**
 * Resolves once the last line typed is in the file. Node writes history shortly after each line;
 * leaving before that would lose the line that ended the session. `_flushing` is how Node's own REPL
 * entry point decides the same thing.
 */
export function historyWritten(server: REPLServer): Promise<void> {
  const flushing = (server as REPLServer & { _flushing?: boolean })._flushing;
  if (!flushing) return Promise.resolve();
  return new Promise((resolve) => server.once('flushHistory', () => resolve()));
}
