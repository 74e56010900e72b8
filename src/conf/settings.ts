/**
 * Settings: Django's names (MEDIA_ROOT, MEDIA_URL, STORAGES…), checked when they are set so that a bad
 * value fails at start-up with the key named, not later in the middle of a save.
 */
import { resolve } from 'node:path';
import { ImproperlyConfigured } from '../errors.ts';
import type { StorageClass } from '../storage/Storage.ts';
import { normalizeDatabases, type DatabaseConfig } from './databases.ts';

export type { DatabaseConfig };

export interface StorageConfig {
  /** A built-in alias (`filesystem`, `memory`, `s3`, `azure`, `sftp`), `module#Export`, or a Storage class. */
  BACKEND: string | StorageClass;
  OPTIONS?: Record<string, unknown>;
}

/** What a settings file or configure() may give; everything is optional. */
export interface SettingsInput {
  /** Folder that relative paths below are resolved against (default: the settings file's folder). */
  BASE_DIR?: string;
  MEDIA_ROOT?: string;
  MEDIA_URL?: string | null;
  STORAGES?: Record<string, StorageConfig>;
  /** Shorthand for `STORAGES.default.BACKEND`. */
  DEFAULT_FILE_STORAGE?: string | StorageClass;
  /** A path (db.json, db.sqlite3) or a URL (sqlite:///abs.sqlite3, postgres://user:password@host/name). */
  DATABASE?: string;
  /** Django's form: { default: { ENGINE: 'json' | 'sqlite' | 'postgresql', NAME, USER, PASSWORD, HOST, PORT, OPTIONS } }. */
  DATABASES?: { default: Partial<DatabaseConfig> & Pick<DatabaseConfig, 'ENGINE' | 'NAME'> };
  MODELS?: string[];
  FILE_UPLOAD_PERMISSIONS?: number | null;
  FILE_UPLOAD_DIRECTORY_PERMISSIONS?: number | null;
  FILE_UPLOAD_MAX_SIZE?: number | null;
  /** Seconds a request may send nothing before it is dropped (`filefield serve`, the upload handlers). Default 30. */
  REQUEST_IDLE_TIMEOUT?: number;
  /** Connections `filefield serve` keeps open at once; more are closed as they arrive. Default 500. */
  SERVE_MAX_CONNECTIONS?: number;
  /** Key for signed URLs; generated and kept in BASE_DIR/.filefield_secret when absent. */
  SECRET_KEY?: string;
  [key: string]: unknown;
}

export interface Settings {
  readonly BASE_DIR: string;
  readonly MEDIA_ROOT: string;
  readonly MEDIA_URL: string | null;
  readonly STORAGES: Readonly<Record<string, StorageConfig>>;
  /** The database file (json, sqlite), or the server's URL without its password (postgresql). */
  readonly DATABASE: string;
  readonly DATABASES: { readonly default: Readonly<DatabaseConfig> };
  readonly MODELS: readonly string[];
  readonly FILE_UPLOAD_PERMISSIONS: number | null;
  readonly FILE_UPLOAD_DIRECTORY_PERMISSIONS: number | null;
  readonly FILE_UPLOAD_MAX_SIZE: number | null;
  readonly REQUEST_IDLE_TIMEOUT: number;
  readonly SERVE_MAX_CONNECTIONS: number;
  readonly SECRET_KEY: string | undefined;
  /** The settings file these values came from, or null for configure() and the defaults. */
  readonly SETTINGS_FILE: string | null;
  readonly [key: string]: unknown;
}

/** What settings need to know of the backends a BACKEND may name (the storage layer's registry provides it). */
export interface BackendCatalog {
  names(): string[];
  /** The options of a backend that hold local paths (resolved against BASE_DIR). */
  pathOptions(name: string): readonly string[];
}

/** Until the registry is loaded (a script that imports one backend's module only), plain names pass unchecked here. */
let backendCatalog: BackendCatalog | null = null;

/** Called once by the storage registry: settings name no backend themselves. */
export function setBackendCatalog(catalog: BackendCatalog): void {
  backendCatalog = catalog;
}

/** Typed identity: gives a settings file completion and checks. */
export function defineSettings<T extends SettingsInput>(values: T): T {
  return values;
}

function fail(key: string, problem: string): never {
  throw new ImproperlyConfigured(`${key} ${problem}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? JSON.stringify(value) : `a ${typeof value}`;
}

function requireString(key: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') fail(key, `must be a non-empty string (a path), got ${describe(value)}.`);
  return value;
}

function optionalMode(key: string, value: unknown): number | null {
  if (value === null) return null;
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 0o7777) {
    fail(key, `must be a permission mode such as 0o644 (an integer from 0 to 0o7777) or null, got ${describe(value)}.`);
  }
  return value as number;
}

function optionalSize(key: string, value: unknown): number | null {
  if (value === null) return null;
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    fail(key, `must be a number of bytes (a whole number, 0 or more) or null, got ${describe(value)}.`);
  }
  return value as number;
}

function positiveNumber(key: string, value: unknown, fallback: number, unit: string, whole: boolean): number {
  if (value === undefined) return fallback;
  const valid = typeof value === 'number' && Number.isFinite(value) && value > 0 && (!whole || Number.isSafeInteger(value));
  if (!valid) fail(key, `must be a ${whole ? 'whole ' : ''}number of ${unit} greater than 0, got ${typeof value === 'number' ? value : describe(value)}.`);
  return value as number;
}

function checkBackend(key: string, backend: unknown): string | StorageClass {
  if (typeof backend === 'function') return backend as StorageClass;
  const builtIn = backendCatalog?.names() ?? [];
  if (typeof backend !== 'string' || backend === '') {
    fail(key, `must name a backend (${builtIn.join(', ')}, or 'module#Export'), got ${describe(backend)}.`);
  }
  if (builtIn.includes(backend) || (backendCatalog === null && !backend.includes('#'))) return backend;
  const [specifier, exportName, extra] = backend.split('#');
  if (!specifier || !exportName || extra !== undefined) {
    fail(key, `'${backend}' is not a built-in backend (${builtIn.join(', ')}) nor a module specifier with an export name ('./storage/custom.ts#CustomStorage').`);
  }
  return backend;
}

/** A relative module specifier is relative to BASE_DIR; a package name stays as it is. */
function resolveSpecifier(baseDir: string, specifier: string): string {
  return specifier.startsWith('.') ? resolve(baseDir, specifier) : specifier;
}

function checkStorages(input: SettingsInput, baseDir: string): Record<string, StorageConfig> {
  const shorthand = input.DEFAULT_FILE_STORAGE;
  const given = input.STORAGES;
  if (given !== undefined && (typeof given !== 'object' || given === null || Array.isArray(given))) {
    fail('STORAGES', `must be an object of aliases, e.g. { default: { BACKEND: 'filesystem' } }, got ${describe(given)}.`);
  }
  if (shorthand !== undefined && given?.default !== undefined) {
    throw new ImproperlyConfigured('DEFAULT_FILE_STORAGE/STORAGES are mutually exclusive.');
  }
  const storages: Record<string, StorageConfig> = { ...(given ?? { default: { BACKEND: 'filesystem' } }) };
  if (shorthand !== undefined) storages.default = { BACKEND: checkBackend('DEFAULT_FILE_STORAGE', shorthand) };
  for (const [alias, config] of Object.entries(storages)) {
    const key = `STORAGES.${alias}`;
    if (typeof config !== 'object' || config === null) fail(key, `must be an object with a BACKEND, got ${describe(config)}.`);
    let backend = checkBackend(`${key}.BACKEND`, config.BACKEND);
    const options = config.OPTIONS ?? {};
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      fail(`${key}.OPTIONS`, `must be an object of the backend's options, got ${describe(options)}.`);
    }
    if (typeof backend === 'string' && backend.includes('#')) {
      const [specifier, exportName] = backend.split('#') as [string, string];
      backend = `${resolveSpecifier(baseDir, specifier)}#${exportName}`;
    }
    const resolvedOptions: Record<string, unknown> = { ...options };
    for (const option of typeof backend === 'string' ? (backendCatalog?.pathOptions(backend) ?? []) : []) {
      const value = resolvedOptions[option];
      if (typeof value === 'string') resolvedOptions[option] = resolve(baseDir, value);
    }
    storages[alias] = { BACKEND: backend, OPTIONS: resolvedOptions };
  }
  return storages;
}

/** Turns what a user wrote into complete, checked settings; throws ImproperlyConfigured naming the key. */
export function normalizeSettings(input: SettingsInput, context: { baseDir: string; settingsFile: string | null }): Settings {
  if (typeof input !== 'object' || input === null) throw new ImproperlyConfigured('Settings must be an object.');
  const baseDir = input.BASE_DIR === undefined ? context.baseDir : resolve(context.baseDir, requireString('BASE_DIR', input.BASE_DIR));
  const mediaUrl = input.MEDIA_URL === undefined ? '/media/' : input.MEDIA_URL;
  if (mediaUrl !== null) {
    if (typeof mediaUrl !== 'string') fail('MEDIA_URL', `must be a string ending with "/" (or null), got ${describe(mediaUrl)}.`);
    if (!mediaUrl.endsWith('/')) fail('MEDIA_URL', `must end with a slash, got ${JSON.stringify(mediaUrl)}.`);
  }
  const models = input.MODELS ?? [];
  if (!Array.isArray(models) || models.some((entry) => typeof entry !== 'string' || entry === '')) {
    fail('MODELS', `must be a list of module paths, got ${describe(models)}.`);
  }
  if (input.SECRET_KEY !== undefined && (typeof input.SECRET_KEY !== 'string' || input.SECRET_KEY.length < 16)) {
    fail('SECRET_KEY', 'must be a string of at least 16 characters.');
  }
  return Object.freeze({
    ...input,
    BASE_DIR: baseDir,
    MEDIA_ROOT: resolve(baseDir, input.MEDIA_ROOT === undefined ? 'media' : requireString('MEDIA_ROOT', input.MEDIA_ROOT)),
    MEDIA_URL: mediaUrl,
    STORAGES: Object.freeze(checkStorages(input, baseDir)),
    ...normalizeDatabases(input, baseDir),
    MODELS: Object.freeze(models.map((entry) => resolveSpecifier(baseDir, entry))),
    FILE_UPLOAD_PERMISSIONS: input.FILE_UPLOAD_PERMISSIONS === undefined ? 0o644 : optionalMode('FILE_UPLOAD_PERMISSIONS', input.FILE_UPLOAD_PERMISSIONS),
    FILE_UPLOAD_DIRECTORY_PERMISSIONS: input.FILE_UPLOAD_DIRECTORY_PERMISSIONS === undefined
      ? null
      : optionalMode('FILE_UPLOAD_DIRECTORY_PERMISSIONS', input.FILE_UPLOAD_DIRECTORY_PERMISSIONS),
    FILE_UPLOAD_MAX_SIZE: input.FILE_UPLOAD_MAX_SIZE === undefined ? null : optionalSize('FILE_UPLOAD_MAX_SIZE', input.FILE_UPLOAD_MAX_SIZE),
    REQUEST_IDLE_TIMEOUT: positiveNumber('REQUEST_IDLE_TIMEOUT', input.REQUEST_IDLE_TIMEOUT, 30, 'seconds', false),
    SERVE_MAX_CONNECTIONS: positiveNumber('SERVE_MAX_CONNECTIONS', input.SERVE_MAX_CONNECTIONS, 500, 'connections', true),
    SECRET_KEY: input.SECRET_KEY,
    SETTINGS_FILE: context.settingsFile,
  });
}

type Listener = () => void;
const listeners = new Set<Listener>();
let current: Settings | null = null;

/** Called whenever settings change, so cached storages and connections are rebuilt (Django's setting_changed). */
export function onSettingsChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Replaces the active settings (checked first: on error the old ones stay). */
export function activateSettings(next: Settings): Settings {
  current = next;
  for (const listener of listeners) listener();
  return next;
}

/** Whether settings were given (by configure or loadSettings), as opposed to the defaults applied on first use. */
export function isConfigured(): boolean {
  return current !== null;
}

/** The active settings object itself (a snapshot that later changes do not alter). */
export function currentSettings(): Settings {
  return active();
}

function active(): Settings {
  // Used before any configuration: Django's defaults, relative to the working directory.
  return current ?? activateSettings(normalizeSettings({}, { baseDir: process.cwd(), settingsFile: null }));
}

/** The active settings, read live: always reflects the last configure()/loadSettings(). */
export const settings: Settings = new Proxy({} as Settings, {
  get: (_target, key) => Reflect.get(active(), key),
  has: (_target, key) => Reflect.has(active(), key),
  ownKeys: () => Reflect.ownKeys(active()),
  getOwnPropertyDescriptor: (_target, key) => {
    const descriptor = Reflect.getOwnPropertyDescriptor(active(), key);
    return descriptor && { ...descriptor, configurable: true };
  },
  set: (_target, key) => {
    throw new ImproperlyConfigured(`Settings are read-only: change ${String(key)} with configure({ ${String(key)}: … }).`);
  },
});
