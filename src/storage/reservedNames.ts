/**
 * The names a storage keeps for its own files (temporary files of saves, headers kept beside a file): no
 * user's file may carry one, so that nothing the storage cleans up or reads is ever a user's file.
 */
import { SuspiciousFileOperation } from '../errors.ts';
import { TEMPORARY_PREFIX } from './temporaryFiles.ts';

const HEADERS_PREFIX = '.filefield-headers-';
/** The prefixes of the names the storages keep for themselves: temporary files of saves, kept headers. */
export const RESERVED_PREFIXES = [TEMPORARY_PREFIX, HEADERS_PREFIX] as const;

/** Where a backend without object properties keeps a file's headers: beside it, under a reserved name. */
export function headersFileName(fileName: string): string {
  return `${HEADERS_PREFIX}${fileName}.json`;
}

/** Whether any segment of a name is one of the storage's own (never a user's file). */
export function isReservedName(name: string): boolean {
  return name.split(/[\\/]/).some((segment) => RESERVED_PREFIXES.some((prefix) => segment.startsWith(prefix)));
}

/** Refuses a NUL byte (no file system takes one) and the names reserved for the storage's own files. */
export function assertUsableName(name: string): void {
  if (name.includes('\0')) throw new SuspiciousFileOperation(`The name '${name.replaceAll('\0', '\\x00')}' contains a NUL byte`);
  if (isReservedName(name)) {
    throw new SuspiciousFileOperation(
      `The name '${name}' is reserved for the storage's own files (names starting with ${RESERVED_PREFIXES.map((prefix) => `'${prefix}'`).join(' or ')})`,
    );
  }
}
