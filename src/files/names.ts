/**
 * Django's file-name helpers (django.utils.text.get_valid_filename, django.core.files.utils.validate_file_name,
 * django.utils.encoding.filepath_to_uri), with Python's Unicode rules so that every name gets exactly the
 * result, or the error message, that Django would give.
 */
import { SuspiciousFileOperation } from '../errors.ts';
import { basename, isAbsolute, pathParts } from './pythonPath.ts';

/**
 * The characters Python's str.isspace() accepts, which str.strip() removes. JavaScript's trim() differs:
 * it also removes U+FEFF and keeps U+001C–U+001F and U+0085. All of them are in the BMP, so testing one
 * UTF-16 code unit at a time is exact.
 */
const PYTHON_WHITESPACE = /^[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/;

/**
 * Everything that Python's `[^-\w.]` matches. Python's Unicode `\w` is str.isalnum() or '_', and isalnum() is
 * letters (L*) plus characters with a numeric value; every one of those is in L* or N*, so for the characters
 * that CPython's Unicode database knows this class is identical (checked over all code points against
 * CPython 3.13, Unicode 15.1). Combining marks (M*) are not word characters, so they are removed.
 */
const NOT_FILENAME_CHARACTER = /[^\p{L}\p{N}_.-]/gu;

/** Names that cannot be a file's name on their own: nothing, this directory, the parent directory. */
const UNNAMEABLE = new Set(['', '.', '..']);

/**
 * get_valid_filename: trims Python whitespace, turns spaces (U+0020 only) into underscores and drops every
 * character that is not alphanumeric, '_', '-' or '.'.
 * Throws SuspiciousFileOperation when nothing usable remains.
 */
export function getValidFilename(name: string): string {
  const cleaned = pythonStrip(name).replaceAll(' ', '_').replace(NOT_FILENAME_CHARACTER, '');
  if (UNNAMEABLE.has(cleaned)) throw couldNotDeriveFileName(name);
  return cleaned;
}

/**
 * validate_file_name: rejects names whose final component cannot name a file, and names that leave their
 * directory. Without allowRelativePath the name must be a bare file name. With it, sub-directories are fine
 * but an absolute path or any '..' component is not; backslashes count as separators there so that a
 * Windows-style name cannot slip past, though the message quotes the name as given.
 * Returns the name unchanged.
 */
export function validateFileName(name: string, options: { allowRelativePath?: boolean } = {}): string {
  const fileName = basename(name);
  if (UNNAMEABLE.has(fileName)) throw couldNotDeriveFileName(name);
  if (options.allowRelativePath) {
    const slashed = name.replaceAll('\\', '/');
    if (isAbsolute(slashed) || pathParts(slashed).includes('..')) {
      throw new SuspiciousFileOperation(`Detected path traversal attempt in '${name}'`);
    }
  } else if (name !== fileName) {
    throw new SuspiciousFileOperation(`File name '${name}' includes path elements`);
  }
  return name;
}

/**
 * filepath_to_uri: a file path as the path part of a URL. Backslashes become slashes, and everything
 * outside A-Z a-z 0-9 and `_ . - ~ / ! * ( ) '` is UTF-8 percent-encoded, which is exactly what
 * encodeURIComponent leaves alone, plus '/'. null and undefined give null (Python's None → None).
 */
export function filepathToUri(path: string | null | undefined): string | null {
  if (path === null || path === undefined) return null;
  return encodeURIComponent(path.replaceAll('\\', '/')).replaceAll('%2F', '/');
}

function couldNotDeriveFileName(name: string): SuspiciousFileOperation {
  return new SuspiciousFileOperation(`Could not derive file name from '${name}'`);
}

/** str.strip() with no arguments. */
function pythonStrip(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && PYTHON_WHITESPACE.test(s.charAt(start))) start++;
  while (end > start && PYTHON_WHITESPACE.test(s.charAt(end - 1))) end--;
  return s.slice(start, end);
}
