/**
 * The project's own files (the database with its lock and journal, the settings file, the secret key) can
 * lie inside a local storage when MEDIA_ROOT is the project's folder or above it: they are never served as
 * media, and never taken for files that no row references.
 */
import { join } from 'node:path';
import { SECRET_FILE_NAME } from '../conf/secret.ts';
import { settings } from '../conf/settings.ts';
import type { Storage } from './Storage.ts';

export function isProjectFile(storage: Storage, name: string): boolean {
  if (!storage.isLocal) return false;
  let path: string;
  try {
    path = storage.path(name);
  } catch {
    return false;
  }
  const database = settings.DATABASE;
  return path === settings.SETTINGS_FILE || path === database || path.startsWith(`${database}.`)
    || path === join(settings.BASE_DIR, SECRET_FILE_NAME);
}
