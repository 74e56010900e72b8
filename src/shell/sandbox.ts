/**
 * `shell --sandbox`: the session works on copies of the media (and of a JSON database) in a temporary
 * folder, deleted when the shell ends, so trying things out never touches the project's files. On the SQL
 * engines every statement runs in one transaction that is rolled back when the shell ends (or when the
 * process dies: an uncommitted transaction never lands).
 */
import { randomBytes } from 'node:crypto';
import { constants as osConstants } from 'node:os';
import { constants, existsSync, readFileSync, rmSync } from 'node:fs';
import { cp, mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { configure } from '../conf/load.ts';
import { SECRET_FILE_NAME } from '../conf/secret.ts';
import { settings, type StorageConfig } from '../conf/settings.ts';
import { closeActiveDatabase, setDatabaseOptions } from '../models/activeDatabase.ts';
import { backendNamed } from '../storage/registry.ts';

export interface Sandbox {
  directory: string;
  /** What the sandbox could not copy and replaced, for the banner. */
  notices: string[];
  /** Deletes the copies (also done when the process exits, or is ended by one of the signals given). */
  dispose(): void;
  /** Rolls the SQL engines' transaction back (dispose() alone leaves that to the process's end). */
  rollBack(): Promise<void>;
}

export interface SandboxOptions {
  /**
   * Signals that end the process with the copies deleted. A signal's default action skips 'exit'
   * handlers; SIGINT is for scripts only, since the prompt handles Ctrl+C itself.
   */
  signals?: NodeJS.Signals[];
}

/** Copies a folder (cheaply where the file system can share blocks), or makes an empty one. */
async function copyFolder(source: string, destination: string): Promise<void> {
  if (existsSync(source)) {
    await cp(source, destination, { recursive: true, mode: constants.COPYFILE_FICLONE, preserveTimestamps: true });
  } else {
    await mkdir(destination, { recursive: true });
  }
}

/** The key signed URLs would use, without creating BASE_DIR/.filefield_secret in the real project. */
function secretKeyForSandbox(): string {
  if (settings.SECRET_KEY) return settings.SECRET_KEY;
  const file = join(settings.BASE_DIR, SECRET_FILE_NAME);
  const kept = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  return kept.length >= 16 ? kept : randomBytes(32).toString('base64url');
}

async function sandboxedStorages(directory: string, notices: string[]): Promise<Record<string, StorageConfig>> {
  const result: Record<string, StorageConfig> = {};
  for (const [alias, config] of Object.entries(settings.STORAGES)) {
    const options = { ...config.OPTIONS };
    const sandbox = typeof config.BACKEND === 'string' ? backendNamed(config.BACKEND)?.sandbox ?? 'replace' : 'replace';
    if (sandbox === 'keep') {
      result[alias] = { BACKEND: config.BACKEND, OPTIONS: options };
    } else if (sandbox === 'copy') {
      if (typeof options.location === 'string' && options.location !== settings.MEDIA_ROOT) {
        const copy = join(directory, 'storages', alias);
        await copyFolder(options.location, copy);
        options.location = copy;
      } else {
        delete options.location; // MEDIA_ROOT, that is, its copy
      }
      result[alias] = { BACKEND: config.BACKEND, OPTIONS: options };
    } else {
      // A remote or custom backend cannot be copied: an empty in-memory storage stands in for it.
      const name = typeof config.BACKEND === 'string' ? config.BACKEND : config.BACKEND.name;
      notices.push(`STORAGES.${alias} (${name}) is replaced by an empty in-memory storage.`);
      const { baseUrl } = options;
      result[alias] = { BACKEND: 'memory', OPTIONS: typeof baseUrl === 'string' ? { baseUrl } : {} };
    }
  }
  return result;
}

/** Copies the media and the database, then points the settings at the copies (keeping the rest). */
export async function enterSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const directory = await mkdtemp(join(tmpdir(), 'filefield-sandbox-'));
  const signals = options.signals ?? ['SIGTERM', 'SIGHUP'];
  const onSignal = (signal: NodeJS.Signals): void => {
    dispose();
    process.exit(128 + (osConstants.signals[signal] ?? 0));
  };
  const dispose = (): void => {
    process.removeListener('exit', dispose);
    for (const signal of signals) process.removeListener(signal, onSignal);
    rmSync(directory, { recursive: true, force: true });
  };
  process.once('exit', dispose);
  for (const signal of signals) process.once(signal, onSignal);
  try {
    const mediaCopy = join(directory, 'media');
    await copyFolder(settings.MEDIA_ROOT, mediaCopy);
    const notices: string[] = [];
    const storagesCopy = await sandboxedStorages(directory, notices);
    // DEFAULT_FILE_STORAGE is already part of STORAGES, and DATABASE is part of DATABASES: giving both is refused.
    const { DEFAULT_FILE_STORAGE: _shorthand, SETTINGS_FILE: _file, DATABASE: _database, ...kept } = settings;
    const database = { ...settings.DATABASES.default };
    if (database.ENGINE === 'json') {
      const databaseCopy = join(directory, basename(database.NAME));
      if (existsSync(database.NAME)) await cp(database.NAME, databaseCopy);
      database.NAME = databaseCopy;
    } else {
      setDatabaseOptions({ rollbackOnClose: true });
      notices.push(`Row changes in ${settings.DATABASE} are made in one transaction, rolled back when the shell ends.`);
    }
    await configure(
      { ...kept, MODELS: [...kept.MODELS], MEDIA_ROOT: mediaCopy, DATABASES: { default: database }, STORAGES: storagesCopy, SECRET_KEY: secretKeyForSandbox() },
      { baseDir: settings.BASE_DIR },
    );
    const rollBack = async (): Promise<void> => {
      await closeActiveDatabase();
      setDatabaseOptions({});
    };
    return { directory, notices, dispose, rollBack };
  } catch (error) {
    dispose();
    throw error;
  }
}
