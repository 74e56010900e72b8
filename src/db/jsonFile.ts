/**
 * The JSON database file as lowdb reads and writes it: parsed and checked whole before anything trusts it
 * (a file that is not a filefield database is never written over), and replaced whole: each version is
 * written complete into a spare file beside it, then renamed into place, so the name always holds a whole
 * version.
 */
import { closeSync, constants, fstatSync, ftruncateSync, futimesSync, linkSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Adapter } from 'lowdb';
import { DatabaseError, OutOfSpaceError, UnreadableDatabase, errorCode, isNoHardLinks, isOutOfSpace, isUnwritableFolder } from '../errors.ts';

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

/**
 * Reads and writes one database file. Writes run under the database's cross-process lock.
 *
 * The version a write replaces is not freed but kept as the spare (`.<name>.spare`) that the next write
 * fills: file and spare swap places at every write (a link and two renames, the name never missing), so a
 * write neither makes nor frees an inode nor allocates blocks. On ext4 that spares two costs a rename over a
 * fresh file has: the flush of its new blocks that ext4 starts at once (auto_da_alloc), and, without a
 * journal, an allocator that skips every inode freed in the last minute. A reader that keeps the file open
 * across two writes sees it change under it: filefield reads it under the lock (see Database).
 */
export class JsonFile implements Adapter<DatabaseData> {
  private readonly spare: string;
  /** The old version's second name for the moment it takes the spare's. */
  private readonly retiring: string;
  /** Kept between writes: a fresh buffer of the file's size would be mapped and zeroed at every write. */
  private buffer = Buffer.alloc(0);

  constructor(readonly file: string, private readonly stringify: (data: DatabaseData) => string) {
    this.spare = join(dirname(file), `.${basename(file)}.spare`);
    this.retiring = join(dirname(file), `.${basename(file)}.retiring`);
  }

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

  /** Written at once, not through the thread pool: the whole file is serialized on this thread anyway. */
  async write(data: DatabaseData): Promise<void> {
    const text = this.stringify(data);
    try {
      this.fillSpare(text);
    } catch (error) {
      // A spare that did not take the whole version is removed (on a full disk, that frees its space).
      try {
        unlinkSync(this.spare);
      } catch {
        // never made
      }
      throw failure(this.file, 'write', error);
    }
    try {
      this.swap();
    } catch (error) {
      throw failure(this.file, 'write', error);
    }
  }

  private fillSpare(text: string): void {
    const length = Buffer.byteLength(text);
    if (this.buffer.length < length) this.buffer = Buffer.allocUnsafe(Math.ceil(length * 1.25));
    this.buffer.write(text, 0, length);
    const fd = this.openSpare();
    try {
      for (let written = 0; written < length;) written += writeSync(fd, this.buffer, written, length - written, written);
      ftruncateSync(fd, length);
      // The version readers compare must change at every write, even within one tick of the clock that
      // stamps files and when the file is back on an inode it had before: later than the current file's.
      // A filesystem that keeps whole seconds drops the step: then a second later.
      const current = this.currentMtime();
      let stamp = Math.max(Date.now() / 1000, current + 1e-5);
      futimesSync(fd, stamp, stamp);
      if (fstatSync(fd).mtimeMs / 1000 <= current) {
        stamp = Math.floor(current) + 1;
        futimesSync(fd, stamp, stamp);
      }
    } finally {
      closeSync(fd);
    }
  }

  /** The spare, opened for writing over: made if missing, made anew if it is not a file of its own. */
  private openSpare(): number {
    const flags = constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW;
    const makeAnew = (): number => {
      unlinkSync(this.spare);
      return openSync(this.spare, flags | constants.O_EXCL, 0o644);
    };
    let fd: number;
    try {
      fd = openSync(this.spare, flags, 0o644);
    } catch (error) {
      // A symbolic link, or another user's spare (users taking turns at one project).
      if (errorCode(error) !== 'ELOOP' && !isUnwritableFolder(error)) throw error;
      return makeAnew();
    }
    const stats = fstatSync(fd);
    if (stats.isFile() && stats.nlink === 1) return fd;
    // Another name for it (a hard link, or the database itself after an interrupted swap): never written over.
    closeSync(fd);
    return makeAnew();
  }

  private currentMtime(): number {
    try {
      return statSync(this.file).mtimeMs / 1000;
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return 0;
      throw error;
    }
  }

  /** The spare becomes the file and the file the spare, the name never missing. */
  private swap(): void {
    if (!this.linkRetiring()) {
      renameSync(this.spare, this.file);
      return;
    }
    renameSync(this.spare, this.file);
    try {
      renameSync(this.retiring, this.spare);
    } catch {
      // The new version is in place; the next write finds the old one under its second name and drops it.
    }
  }

  /**
   * Gives the current version a second name, so that the rename over it does not free it; false when there
   * is no current version or the filesystem has no hard links (it is then freed, and a spare made next time).
   */
  private linkRetiring(): boolean {
    for (;;) {
      try {
        linkSync(this.file, this.retiring);
        return true;
      } catch (error) {
        const code = errorCode(error);
        if (code === 'ENOENT' || isNoHardLinks(error)) return false;
        if (code !== 'EEXIST') throw error;
        // Left by a write interrupted between its link and its last rename: an older version, or a second
        // name of the current one. Either way the current version keeps its own name.
        unlinkSync(this.retiring);
      }
    }
  }
}
