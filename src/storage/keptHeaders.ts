/**
 * The object headers a backend learned while opening a file (the local disk reads them beside it), kept
 * with the File it returned: whoever serves the file needs no second look-up by name.
 */
import type { File } from '../files/File.ts';
import type { ObjectHeaders } from './driver.ts';

const headersOfOpened = new WeakMap<File, ObjectHeaders>();

export function keepHeaders(file: File, headers: ObjectHeaders): File {
  headersOfOpened.set(file, headers);
  return file;
}

/** The headers kept with `file` when it was opened, or undefined where its backend did not read them. */
export function keptHeadersOf(file: File): ObjectHeaders | undefined {
  return headersOfOpened.get(file);
}
