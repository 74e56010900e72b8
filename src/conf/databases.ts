/**
 * The database settings in Django's names: DATABASES, the DATABASE shorthand (a path or a URL), and the
 * DATABASE_URL environment variable when neither is given. Checked here so a bad value fails at start-up
 * with the key named.
 */
import { resolve } from 'node:path';
import { ImproperlyConfigured } from '../errors.ts';

export const ENGINES = ['json', 'sqlite', 'postgresql'] as const;
export type EngineName = (typeof ENGINES)[number];

export interface DatabaseConfig {
  ENGINE: EngineName;
  /** A file path (json, sqlite: absolute once checked) or the database's name (postgresql). */
  NAME: string;
  USER?: string;
  PASSWORD?: string;
  HOST?: string;
  PORT?: number;
  OPTIONS?: Record<string, unknown>;
}

const SQLITE_EXTENSIONS = /\.(sqlite3|sqlite|db)$/i;

function fail(key: string, problem: string): never {
  throw new ImproperlyConfigured(`${key} ${problem}`);
}

/** A URL as Django's dj-database-url reads them: sqlite:///abs, sqlite:relative, postgres(ql)://user:pass@host:port/name. */
function fromUrl(key: string, text: string): Omit<DatabaseConfig, 'NAME'> & { NAME: string } {
  const scheme = text.slice(0, text.indexOf(':')).toLowerCase();
  if (scheme === 'sqlite') {
    const rest = text.slice('sqlite:'.length);
    // sqlite:///abs/path (three slashes: an empty host, then the absolute path), or sqlite:relative/path.
    const path = rest.startsWith('//') ? decodeURIComponent(rest.slice(2)) : decodeURIComponent(rest);
    if (path === '' || path === '/') fail(key, `must name the SQLite file (sqlite:///abs/path.sqlite3 or sqlite:relative.sqlite3), got ${JSON.stringify(text)}.`);
    return { ENGINE: 'sqlite', NAME: path };
  }
  if (scheme === 'postgres' || scheme === 'postgresql') {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      fail(key, `is not a valid URL: ${JSON.stringify(redact(text))}.`);
    }
    const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
    if (!name) fail(key, `must name the database after the host (postgres://user:password@host:5432/name), got ${JSON.stringify(redact(text))}.`);
    const options = Object.fromEntries(url.searchParams);
    return {
      ENGINE: 'postgresql',
      NAME: name,
      USER: url.username ? decodeURIComponent(url.username) : undefined,
      PASSWORD: url.password ? decodeURIComponent(url.password) : undefined,
      HOST: url.hostname ? decodeURIComponent(url.hostname) : undefined,
      PORT: url.port ? Number(url.port) : undefined,
      OPTIONS: Object.keys(options).length ? options : undefined,
    };
  }
  fail(key, `has an unknown scheme '${scheme}:' (use sqlite:, postgres: or postgresql:, or a path to a .json or .sqlite3 file).`);
}

/** The URL without its password, for messages. */
export function redact(text: string): string {
  return text.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@');
}

/** A path or URL given as DATABASE or DATABASE_URL. */
function fromShorthand(key: string, value: unknown): DatabaseConfig {
  if (typeof value !== 'string' || value === '') {
    fail(key, `must be a path (db.json, db.sqlite3) or a URL (sqlite:///path.sqlite3, postgres://user:password@host:5432/name), got ${typeof value === 'string' ? '""' : typeof value}.`);
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(value) && !/^[a-z]:[\\/]/i.test(value)) return fromUrl(key, value);
  return { ENGINE: SQLITE_EXTENSIONS.test(value) ? 'sqlite' : 'json', NAME: value };
}

function optionalString(key: string, value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') fail(key, `must be a string, got ${typeof value}.`);
  return value;
}

function fromDatabases(value: unknown): DatabaseConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail('DATABASES', `must be an object of aliases, e.g. { default: { ENGINE: 'sqlite', NAME: 'db.sqlite3' } }.`);
  }
  const aliases = value as Record<string, unknown>;
  const config = aliases.default;
  if (typeof config !== 'object' || config === null) fail('DATABASES.default', 'must be an object with an ENGINE and a NAME.');
  const others = Object.keys(aliases).filter((alias) => alias !== 'default');
  if (others.length) fail(`DATABASES.${others[0]}`, 'is not used: filefield uses one database, DATABASES.default.');
  const { ENGINE, NAME, USER, PASSWORD, HOST, PORT, OPTIONS, ...unknown } = config as Record<string, unknown>;
  const extra = Object.keys(unknown);
  if (extra.length) fail(`DATABASES.default.${extra[0]}`, 'is not a database setting (ENGINE, NAME, USER, PASSWORD, HOST, PORT, OPTIONS).');
  // Django's full engine names are accepted too.
  const engine = typeof ENGINE === 'string' ? ENGINE.replace(/^django\.db\.backends\./, '').replace(/^sqlite3$/, 'sqlite') : ENGINE;
  if (!(ENGINES as readonly unknown[]).includes(engine)) {
    fail('DATABASES.default.ENGINE', `must be one of ${ENGINES.join(', ')}, got ${JSON.stringify(ENGINE)}.`);
  }
  if (typeof NAME !== 'string' || NAME === '') fail('DATABASES.default.NAME', 'must be a non-empty string (a file path, or the PostgreSQL database name).');
  let port: number | undefined;
  if (PORT !== undefined && PORT !== null && PORT !== '') {
    port = Number(PORT);
    if (!Number.isInteger(port) || port < 1 || port > 65535) fail('DATABASES.default.PORT', `must be a port number (1 to 65535), got ${JSON.stringify(PORT)}.`);
  }
  if (OPTIONS !== undefined && (typeof OPTIONS !== 'object' || OPTIONS === null || Array.isArray(OPTIONS))) {
    fail('DATABASES.default.OPTIONS', 'must be an object.');
  }
  return {
    ENGINE: engine as EngineName,
    NAME,
    USER: optionalString('DATABASES.default.USER', USER),
    PASSWORD: optionalString('DATABASES.default.PASSWORD', PASSWORD),
    HOST: optionalString('DATABASES.default.HOST', HOST),
    PORT: port,
    OPTIONS: OPTIONS as Record<string, unknown> | undefined,
  };
}

export interface NormalizedDatabases {
  DATABASES: { default: DatabaseConfig };
  /** The file of a json or sqlite database; the URL (password hidden) of a server. */
  DATABASE: string;
}

/** DATABASES, else DATABASE, else DATABASE_URL, else db.json; file paths resolved against `baseDir`. */
export function normalizeDatabases(input: { DATABASES?: unknown; DATABASE?: unknown }, baseDir: string, environment = process.env): NormalizedDatabases {
  if (input.DATABASES !== undefined && input.DATABASE !== undefined) {
    throw new ImproperlyConfigured('DATABASE/DATABASES are mutually exclusive: give one of them.');
  }
  const config = input.DATABASES !== undefined
    ? fromDatabases(input.DATABASES)
    : input.DATABASE !== undefined
      ? fromShorthand('DATABASE', input.DATABASE)
      : environment.DATABASE_URL
        ? fromShorthand('DATABASE_URL', environment.DATABASE_URL)
        : { ENGINE: 'json' as const, NAME: 'db.json' };
  if (config.ENGINE !== 'postgresql') {
    const file = resolve(baseDir, config.NAME);
    return { DATABASES: { default: { ...config, NAME: file } }, DATABASE: file };
  }
  const host = config.HOST ?? 'localhost';
  const location = `postgresql://${config.USER ? `${encodeURIComponent(config.USER)}@` : ''}${host.includes(':') ? `[${host}]` : host}:${config.PORT ?? 5432}/${encodeURIComponent(config.NAME)}`;
  return { DATABASES: { default: config }, DATABASE: location };
}
