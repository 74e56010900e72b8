/**
 * Storage names ↔ paths on the SFTP server. Names are joined to `root` lexically and refused when they would
 * leave it, whoever the caller (save() checks its names, but open(), delete() and the others take any).
 */
import { posix } from 'node:path';
import { SuspiciousFileOperation } from '../../errors.ts';

/** Temporary files of saves in progress; hidden from listdir(). */
export const TEMPORARY_PREFIX = '.filefield-tmp-';

/** The root as given, normalized: '' (the login folder), a relative folder, or an absolute one. */
export function normalizeRoot(root: string): string {
  if (root === '') return '';
  const normalized = posix.normalize(root.replaceAll('\\', '/')).replace(/(?<=.)\/+$/, '');
  return normalized === '.' ? '' : normalized;
}

/** The path on the server of a storage name ('' is the root itself). */
export function remotePathOf(root: string, name: string): string {
  const slashed = name.replaceAll('\\', '/');
  const kept: string[] = [];
  for (const segment of slashed.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (kept.length === 0) throw outside(name, root);
      kept.pop();
    } else {
      kept.push(segment);
    }
  }
  if (slashed.startsWith('/')) throw outside(name, root);
  const relative = kept.join('/');
  if (root === '') return relative === '' ? '.' : relative;
  if (relative === '') return root;
  return root === '/' ? `/${relative}` : `${root}/${relative}`;
}

function outside(name: string, root: string): SuspiciousFileOperation {
  return new SuspiciousFileOperation(
    `The joined path (${name}) is located outside of the base path component (${root || '.'})`,
  );
}
