/**
 * The project's own files (the database with its lock and journal, the settings file, the secret key) can
 * lie inside a local storage when MEDIA_ROOT is the project's folder or above it: they are never served as
 * media, and never taken for files that no row references.
 */
import { join } from 'node:path';
import { SECRET_FILE_NAME } from '../conf/secret.ts';
import { settings } from '../conf/settings.ts';
import { isInsideFolder } from './MediaRootStorage.ts';
import type { Storage } from './Storage.ts';

export function isProjectFile(storage: Storage, name: string): boolean {
  if (!storage.isLocal) return false;
  const database = settings.DATABASE;
  const secret = join(settings.BASE_DIR, SECRET_FILE_NAME);
  let path: string;
  try {
    // The usual case, a location that holds none of them, is told from the location alone: no look at the name.
    const location = storage.path('');
    const holdsSome = [settings.SETTINGS_FILE, database, secret].some((file) => typeof file === 'string' && isInsideFolder(location, file))
      || (typeof database === 'string' && location.startsWith(`${database}.`)); // the journal's folder itself
    if (!holdsSome) return false;
    path = storage.path(name);
  } catch {
    return false;
  }
  return path === settings.SETTINGS_FILE || path === database || path.startsWith(`${database}.`) || path === secret;
}
