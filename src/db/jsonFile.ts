/**
 * The JSON database file as lowdb reads and writes it: parsed and checked whole before anything trusts it
 * (a file that is not a filefield database is never written over), written to a temporary file beside it
 * and renamed into place, the temporary file removed again whatever fails.
 */
import { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Adapter } from 'lowdb';
import { DatabaseError, OutOfSpaceError, UnreadableDatabase, errorCode, isOutOfSpace } from '../errors.ts';

export type Row = Record<string, unknown> & { id: number };

export interface DatabaseData {
  tables: Record<string, Row[]>;
  sequences: Record<string, number>;
}

export function emptyData(): DatabaseData {
  return { tables: {}, sequences: {} };
}

const KNOWN_KEYS = new Set(['tables', 'sequences']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What a JSON value is, in words, for messages. */
function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty array' : 'an array';
  if (typeof value === 'string') return 'a string';
  return typeof value === 'object' ? 'an object' : `the ${typeof value} ${JSON.stringify(value)}`;
}

function parseProblem(text: string, error: unknown): string {
  if (text.trim() === '') return text.length === 0 ? 'it is empty (0 bytes)' : `it holds only white space (${text.length} bytes)`;
  const message = error instanceof Error ? error.message : String(error);
  if (/end of (JSON )?(data|input)/i.test(message) || /Unterminated/i.test(message)) {
    return `it ends in the middle of its JSON, after ${Buffer.byteLength(text)} bytes (a truncated file?)`;
  }
  return `it is not valid JSON (${message})`;
}

function isId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

/** What is wrong with parsed content, or null when it is a database this code can read and write back whole. */
function structureProblem(data: unknown): string | null {
  if (!isPlainObject(data)) return `it holds ${describeValue(data)} where an object with "tables" and "sequences" belongs`;
  const unknown = Object.keys(data).filter((key) => !KNOWN_KEYS.has(key));
  if (unknown.length > 0) {
    return `it has keys that are not a filefield database's (${unknown.map((key) => JSON.stringify(key)).join(', ')}), `
      + 'so writing it back would lose them';
  }
  const { tables, sequences } = data;
  if (tables !== undefined && !isPlainObject(tables)) return `"tables" is ${describeValue(tables)}, not an object of tables`;
  for (const [table, rows] of Object.entries(tables ?? {})) {
    if (!Array.isArray(rows)) return `table ${JSON.stringify(table)} is ${describeValue(rows)}, not an array of rows`;
    const ids = new Set<number>();
    for (const [index, row] of rows.entries()) {
      const where = `row ${index + 1} of table ${JSON.stringify(table)}`;
      if (!isPlainObject(row)) return `${where} is ${describeValue(row)}, not an object`;
      if (!isId(row.id)) return `${where} has ${row.id === undefined ? 'no id' : `the id ${JSON.stringify(row.id)}`}, not a whole number above 0`;
      if (ids.has(row.id)) return `${where} has the id ${row.id}, which an earlier row of the table has too`;
      ids.add(row.id);
    }
  }
  if (sequences !== undefined && !isPlainObject(sequences)) return `"sequences" is ${describeValue(sequences)}, not an object of numbers`;
  for (const [table, value] of Object.entries(sequences ?? {})) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      return `the sequence of table ${JSON.stringify(table)} is ${describeValue(value)}, not a whole number`;
    }
  }
  return null;
}

/** The database in `text` (the content of `file`); throws UnreadableDatabase saying what is wrong. */
export function parseDatabase(file: string, text: string): DatabaseData {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UnreadableDatabase(file, parseProblem(text, error), { cause: error });
  }
  const problem = structureProblem(parsed);
  if (problem !== null) throw new UnreadableDatabase(file, problem);
  const data = parsed as Partial<DatabaseData>;
  return { tables: data.tables ?? {}, sequences: data.sequences ?? {} };
}

function failure(file: string, doing: string, error: unknown): Error {
  if (isOutOfSpace(error)) return new OutOfSpaceError(file, error);
  const message = error instanceof Error ? error.message : String(error);
  return new DatabaseError(file, `Could not ${doing} the database ${file}: ${message}`, { cause: error });
}

export class JsonFile implements Adapter<DatabaseData> {
  constructor(readonly file: string, private readonly stringify: (data: DatabaseData) => string) {}

  async read(): Promise<DatabaseData | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return null;
      if (errorCode(error) === 'EISDIR') throw new UnreadableDatabase(this.file, 'it is a folder, not a file');
      throw failure(this.file, 'read', error);
    }
    return parseDatabase(this.file, text);
  }

  /**
   * Writes under the database's cross-process lock, so one temporary name serves every process: one that a
   * killed writer left is written over (and renamed away) by the next write. Written at once, not through
   * the thread pool: the whole file is serialized on this thread anyway, and handing the text to the
   * kernel costs a fraction of that.
   */
  async write(data: DatabaseData): Promise<void> {
    const temporary = join(dirname(this.file), `.${basename(this.file)}.tmp`);
    try {
      writeFileSync(temporary, this.stringify(data), 'utf8');
      renameSync(temporary, this.file);
    } catch (error) {
      try {
        unlinkSync(temporary);
      } catch {
        // never made
      }
      throw failure(this.file, 'write', error);
    }
  }
}
