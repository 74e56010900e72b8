/**
 * Storage names ↔ blob names. A container has no folders, only names with slashes, so a name that climbs
 * out of the `location` prefix would silently reach other blobs: it is refused here, whoever the caller.
 */
import { ImproperlyConfigured } from '../../errors.ts';
import { segmentsBelow } from '../remoteNames.ts';

/** The location as a prefix without leading or trailing slashes ('' for the container's root). */
export function normalizeLocation(location: string): string {
  const parts = location.replaceAll('\\', '/').split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) throw new ImproperlyConfigured(`AzureStorage option 'location' must not contain '..', got '${location}'.`);
  return parts.join('/');
}


/**
 * The blob name of a storage name (django-storages' clean_name + safe_join): backslashes read as slashes,
 * '.' and empty segments dropped, '..' resolved, and a result above the location refused.
 */
export function blobNameOf(location: string, name: string): string {
  const relative = segmentsBelow(name, { shownBase: location || '/', backslashSeparates: true }).join('/');
  if (location === '') return relative;
  return relative === '' ? location : `${location}/${relative}`;
}

/** The listing prefix of a folder: its blob name and a slash ('' for the container's root). */
export function folderPrefixOf(location: string, path: string): string {
  const blobName = blobNameOf(location, path);
  return blobName === '' ? '' : `${blobName}/`;
}

/** A blob name as a URL path: each segment percent-encoded, the slashes kept. */
export function encodeBlobPath(blobName: string): string {
  return blobName.split('/').map(encodeURIComponent).join('/');
}
