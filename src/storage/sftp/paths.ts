/**
 * Storage names ↔ paths on the SFTP server. Names are joined to `root` lexically and refused when they would
 * leave it, whoever the caller (save() checks its names, but open(), delete() and the others take any).
 */
import { posix } from 'node:path';
import { segmentsBelow } from '../remoteNames.ts';


/** The root as given, normalized: '' (the login folder), a relative folder, or an absolute one. */
export function normalizeRoot(root: string): string {
  if (root === '') return '';
  const normalized = posix.normalize(root.replaceAll('\\', '/')).replace(/(?<=.)\/+$/, '');
  return normalized === '.' ? '' : normalized;
}

/** The path on the server of a storage name ('' is the root itself). */
export function remotePathOf(root: string, name: string): string {
  const relative = segmentsBelow(name, { shownBase: root || '.', backslashSeparates: true }).join('/');
  if (root === '') return relative === '' ? '.' : relative;
  if (relative === '') return root;
  return root === '/' ? `/${relative}` : `${root}/${relative}`;
}
