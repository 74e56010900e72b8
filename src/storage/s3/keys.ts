/**
 * Storage names ↔ S3 object keys. A name is a POSIX-style path relative to the storage; its key is that
 * path, normalized, under the `location` prefix. S3 itself has no folders, so a name that climbs out of the
 * prefix would silently reach other objects of the bucket: it is refused here, whatever the caller.
 */
import { ImproperlyConfigured } from '../../errors.ts';
import { segmentsBelow } from '../remoteNames.ts';

/** The location as a key prefix without leading or trailing slashes ('' for the bucket's root). */
export function normalizeLocation(location: string): string {
  const parts = location.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) {
    throw new ImproperlyConfigured(`The S3 location '${location}' must not contain '..'.`);
  }
  return parts.join('/');
}


/**
 * The object key of `name` under `location`: '.' and empty segments dropped, '..' resolved, a trailing
 * slash kept (it is part of a key). A name that is absolute or climbs above the location is refused.
 */
export function keyOf(location: string, name: string): string {
  const relative = segmentsBelow(name, { shownBase: location || '/', backslashSeparates: false }).join('/');
  const trailingSlash = relative !== '' && name.endsWith('/') ? '/' : '';
  if (location === '') return relative + trailingSlash;
  return relative === '' ? location : `${location}/${relative}${trailingSlash}`;
}

/** The storage name of a key under `location` (the inverse of keyOf for keys listed under it). */
export function nameOfKey(location: string, key: string): string {
  if (location === '') return key;
  if (key === location) return '';
  if (!key.startsWith(location + '/')) {
    throw new Error(`The key '${key}' is not under the location '${location}'.`);
  }
  return key.slice(location.length + 1);
}

/** The listing prefix of a folder name: its key with a trailing slash, or '' / the location's prefix. */
export function folderPrefixOf(location: string, path: string): string {
  const key = keyOf(location, path);
  return key === '' ? '' : key.endsWith('/') ? key : key + '/';
}
