/**
 * Errors for people: filefield's own errors (a refused image, a traversal name, DoesNotExist…) are
 * expected outcomes of trying things, so the shell shows them as their class and message with a dim hint,
 * in at most three lines, instead of a stack of library frames. `_error` keeps the error and `.stack`
 * prints the whole of it. Any other error is a bug somewhere and keeps Node's output.
 */
import { DoesNotExist, FieldError, ImproperlyConfigured, MultipleObjectsReturned, StorageOperationError, SuspiciousOperation, ValidationError } from '../index.ts';
import { errorCode } from '../errors.ts';

export interface ErrorDisplay {
  /** Columns of the terminal; 0 (unknown) counts as 80. */
  columns: number;
  colors: boolean;
  /** Where the error happened, for scripts: `stdin line 4`. */
  location?: string;
}

/** The most lines a message takes on screen; the hint is the third line. */
const MESSAGE_LINES = 2;
export const DEFAULT_COLUMNS = 80;

export function effectiveColumns(columns: number | undefined): number {
  return columns && columns > 0 ? columns : DEFAULT_COLUMNS;
}

export function dim(text: string, colors: boolean): string {
  return colors ? `\x1b[2m${text}\x1b[22m` : text;
}

/** A hint as the shell shows every hint: one dim line that starts with `hint:`. */
export function hintLine(text: string, colors: boolean): string {
  return dim(`hint: ${text}`, colors);
}

/** Node's error when Ctrl+C stops a statement that runs synchronously (`while (true) {}`). */
export function isInterruption(error: unknown): boolean {
  return errorCode(error) === 'ERR_SCRIPT_EXECUTION_INTERRUPTED';
}

const NO_FILE = /^The '[^']+' attribute has no file associated with it\.$/;

/** A hint for each kind of filefield error, or null when the error is not one of ours. */
function hintFor(error: Error): string | null {
  if (error instanceof SuspiciousOperation) return 'refused before anything was written';
  if (error instanceof ValidationError) return 'nothing was stored, no row was written';
  if (error instanceof DoesNotExist) return 'filter() gives [], first() and last() give null';
  if (error instanceof MultipleObjectsReturned) return 'filter() returns them all';
  if (error instanceof StorageOperationError) return "_error.cause is the service's own error";
  if (error instanceof ImproperlyConfigured) return 'fix the setting, then .reload';
  if (error instanceof FieldError) return 'see the model and its fields';
  if (errorCode(error) === 'ENOENT') return 'no such file: storage.exists(name) checks first';
  if (NO_FILE.test(error.message)) return 'the field is empty: save a file into it first';
  return null;
}

export function isOwnError(error: unknown): error is Error {
  return error instanceof Error && hintFor(error) !== null;
}

/** Words laid out on lines of at most `width` characters (a word longer than that gets a line of its own). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(/ +/)) {
      if (line && line.length + 1 + word.length > width) {
        lines.push(line);
        line = word;
      } else {
        line = line ? `${line} ${word}` : word;
      }
    }
    lines.push(line);
  }
  return lines;
}

/** The short form of one of filefield's errors, or null for any other error (Node's output stays). */
export function formatOwnError(error: unknown, display: ErrorDisplay): string | null {
  if (!(error instanceof Error)) return null;
  const hint = hintFor(error);
  if (hint === null) return null;
  const width = effectiveColumns(display.columns) - 1;
  let lines = wrap(`${error.name}: ${error.message}`, width);
  if (lines.length > MESSAGE_LINES) {
    lines = lines.slice(0, MESSAGE_LINES);
    lines[MESSAGE_LINES - 1] = lines[MESSAGE_LINES - 1]!.slice(0, width - 1) + '…';
  }
  const said = display.location ? `(${display.location}) ${hint}` : `${hint}; .stack prints the stack`;
  return [...lines, hintLine(said, display.colors)].join('\n');
}

/** Ctrl+C stopping a synchronous statement: one line, no stack. */
export function formatInterruption(colors: boolean): string {
  return `Interrupted: Ctrl+C stopped the statement. ${hintLine('.stack shows where it was', colors)}`;
}
