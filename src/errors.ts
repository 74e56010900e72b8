/**
 * The error classes users catch. They keep Django's names so that code and habits carry over.
 */

/** A request or name that looks like an attack; never retried, never shown to end users verbatim. */
export class SuspiciousOperation extends Error {
  override name = 'SuspiciousOperation';
}

/** A file name that escapes its root or cannot name a file at all. */
export class SuspiciousFileOperation extends SuspiciousOperation {
  override name = 'SuspiciousFileOperation';
}

/** Settings that cannot work; the message names the setting. */
export class ImproperlyConfigured extends Error {
  override name = 'ImproperlyConfigured';
}

/** An unknown storage alias or a backend that cannot be loaded. */
export class InvalidStorageError extends ImproperlyConfigured {
  override name = 'InvalidStorageError';
}

/** Data a user sent that is not acceptable (not an image, too large…). */
export class ValidationError extends Error {
  override name = 'ValidationError';
  readonly code: string;
  readonly params: Record<string, unknown>;

  constructor(message: string, options: { code?: string; params?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code ?? 'invalid';
    this.params = options.params ?? {};
  }
}

/** A source larger than FILE_UPLOAD_MAX_SIZE (or a field's own limit); nothing of it is kept. */
export class FileTooLarge extends ValidationError {
  override name = 'FileTooLarge';
  readonly limit: number;

  constructor(limit: number) {
    super(`The file is larger than the limit of ${limit} bytes (FILE_UPLOAD_MAX_SIZE).`, {
      code: 'file_too_large',
      params: { limit },
    });
    this.limit = limit;
  }
}

/** A model or field used in a way that cannot work (Django's FieldError). */
export class FieldError extends Error {
  override name = 'FieldError';
}

/**
 * The database cannot be used (Django's django.db.DatabaseError). `file` is the database file (or the
 * database's name), for messages and for `filefield serve`, which answers 503 with it.
 */
export class DatabaseError extends Error {
  override name = 'DatabaseError';
  readonly file: string;

  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.file = file;
  }
}

/**
 * The database file exists but does not hold a database filefield can read (truncated, empty, not JSON,
 * a malformed row…). Nothing is written over it: `problem` says what is wrong, for a person to mend it.
 */
export class UnreadableDatabase extends DatabaseError {
  override name = 'UnreadableDatabase';
  readonly problem: string;

  constructor(file: string, problem: string, options?: { cause?: unknown }) {
    super(file, `The database ${file} cannot be read: ${problem}. filefield will not write over it: `
      + 'mend or restore the file (or move it away to start afresh).', options);
    this.problem = problem;
  }
}

/** A write failed because the disk (or the user's quota) is full; `path` is the file being written. */
export class OutOfSpaceError extends Error {
  override name = 'OutOfSpaceError';
  readonly path: string;
  /** The system's code: ENOSPC (no space left) or EDQUOT (quota exceeded). */
  readonly code: string;

  constructor(path: string, cause: unknown) {
    const code = errorCode(cause) ?? 'ENOSPC';
    super(`No space left to write ${path} (${code === 'EDQUOT' ? 'disk quota exceeded' : 'the disk is full'}); nothing was changed.`, { cause });
    this.path = path;
    this.code = code;
  }
}

/** Whether a failed write failed for want of space. */
export function isOutOfSpace(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** Whether an operation was refused because the folder cannot be written (its rights, a read-only mount). */
export function isUnwritableFolder(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'EACCES' || code === 'EPERM' || code === 'EROFS';
}

/** Whether a link() was refused because the filesystem has no hard links (FAT, some network and FUSE mounts). */
export function isNoHardLinks(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS' || code === 'EXDEV' || code === 'EMLINK';
}

/** Django's ValueError cases (an empty FieldFile, a missing name…), kept as plain Errors with their messages. */
export function valueError(message: string): Error {
  return new Error(message);
}

/** Node's error code of an fs/system error, if any. */
export function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}

/** The database cannot be reached or refused us (Django's OperationalError); the message is one line. */
export class OperationalError extends DatabaseError {
  override name = 'OperationalError';
}

/** A table that is behind its model (a table or column missing): `filefield migrate` brings it up. */
export class ProgrammingError extends DatabaseError {
  override name = 'ProgrammingError';
}
