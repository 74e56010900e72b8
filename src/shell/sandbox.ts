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
import { settings, type Settings, type StorageConfig } from '../conf/settings.ts';
import { copyJsonDatabase } from '../db/Database.ts';
import { closeActiveDatabase, setDatabaseOptions } from '../models/activeDatabase.ts';
import { backendNamed } from '../storage/registry.ts';

export interface Sandbox {
  directory: string;
  /** What the sandbox could not copy and replaced, for the banner. */
  notices: string[];
  /** Deletes the copies (also done when the process exits, or is ended by one of the signals given). */
  dispose(): void;
  /**
   * Applies the project's settings as loaded anew (`.reload`, not applied yet) pointed at the copies,
   * keeping what was written to them; a folder or database the new settings add is copied first.
   */
  reapply(project: Settings): Promise<void>;
  /** Rolls the SQL engines' transaction back (dispose() alone leaves that to the process's end). */
  rollBack(): Promise<void>;
}

export interface SandboxOptions {
  /**
   * Signals that end the process with the copies deleted. A signal's default action skips 'exit'
   * handlers; SIGINT is for scripts only, since the prompt handles Ctrl+C itself.
   */
  signals?: NodeJS.Signals[];
  /** The project's settings to copy from (default: the settings in force). */
  project?: Settings;
}

/** Copies a folder (cheaply where the file system can share blocks), or makes an empty one; a copy made earlier is kept. */
async function copyFolder(source: string, destination: string): Promise<void> {
  if (existsSync(destination)) return;
  if (existsSync(source)) {
    await cp(source, destination, { recursive: true, mode: constants.COPYFILE_FICLONE, preserveTimestamps: true });
  } else {
    await mkdir(destination, { recursive: true });
  }
}

/** The key signed URLs would use, without creating BASE_DIR/.filefield_secret in the real project. */
function secretKeyForSandbox(project: Settings): string {
  const file = join(project.BASE_DIR, SECRET_FILE_NAME);
  const kept = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  return kept.length >= 16 ? kept : randomBytes(32).toString('base64url');
}

async function sandboxedStorages(project: Settings, directory: string, notices: string[]): Promise<Record<string, StorageConfig>> {
  const result: Record<string, StorageConfig> = {};
  for (const [alias, config] of Object.entries(project.STORAGES)) {
    const options = { ...config.OPTIONS };
    const sandbox = typeof config.BACKEND === 'string' ? backendNamed(config.BACKEND)?.sandbox ?? 'replace' : 'replace';
    if (sandbox === 'keep') {
      result[alias] = { BACKEND: config.BACKEND, OPTIONS: options };
    } else if (sandbox === 'copy') {
      if (typeof options.location === 'string' && options.location !== project.MEDIA_ROOT) {
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
  // One key for the sandbox's life (a generated one too), so signed URLs made before a `.reload` still verify.
  let generatedKey: string | undefined;
  const secretKey = (project: Settings): string => project.SECRET_KEY || (generatedKey ??= secretKeyForSandbox(project));
  // The copies of what the project's settings name, and those settings pointed at them (applied only then,
  // so that the project's own paths are never in force meanwhile).
  const redirect = async (project: Settings, notices: string[]): Promise<void> => {
    const mediaCopy = join(directory, 'media');
    await copyFolder(project.MEDIA_ROOT, mediaCopy);
    const storagesCopy = await sandboxedStorages(project, directory, notices);
    // DEFAULT_FILE_STORAGE is already part of STORAGES, and DATABASE is part of DATABASES: giving both is refused.
    const { DEFAULT_FILE_STORAGE: _shorthand, SETTINGS_FILE: _file, DATABASE: _database, ...kept } = project;
    const database = { ...project.DATABASES.default };
    if (database.ENGINE === 'json') {
      const databaseCopy = join(directory, basename(database.NAME));
      // Under the database's lock: a copy made while another process writes must be of one whole version.
      if (existsSync(database.NAME) && !existsSync(databaseCopy)) await copyJsonDatabase(database.NAME, databaseCopy);
      database.NAME = databaseCopy;
    } else {
      setDatabaseOptions({ rollbackOnClose: true });
      notices.push(`Row changes in ${project.DATABASE} are made in one transaction, rolled back when the shell ends.`);
    }
    await configure(
      { ...kept, MODELS: [...kept.MODELS], MEDIA_ROOT: mediaCopy, DATABASES: { default: database }, STORAGES: storagesCopy, SECRET_KEY: secretKey(project) },
      { baseDir: project.BASE_DIR },
    );
  };
  const rollBack = async (): Promise<void> => {
    await closeActiveDatabase();
    setDatabaseOptions({});
  };
  try {
    const notices: string[] = [];
    await redirect(options.project ?? settings, notices);
    return { directory, notices, dispose, rollBack, reapply: (project) => redirect(project, []) };
  } catch (error) {
    dispose();
    throw error;
  }
}
