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

/** Django's ValueError cases (an empty FieldFile, a missing name…), kept as plain Errors with their messages. */
export function valueError(message: string): Error {
  return new Error(message);
}

/** Node's error code of an fs/system error, if any. */
export function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}

/** The database cannot be reached or refused us (Django's OperationalError); the message is one line. */
export class OperationalError extends Error {
  override name = 'OperationalError';
}

/** A table that is behind its model (a table or column missing): `filefield migrate` brings it up. */
export class ProgrammingError extends Error {
  override name = 'ProgrammingError';
}
