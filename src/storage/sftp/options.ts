/**
 * SFTPStorage's options (STORAGES.<alias>.OPTIONS), checked once at construction so that a typo or a
 * missing host key fails at start-up naming the option.
 */
import { userInfo } from 'node:os';
import { optionFailure, optionalString as optionalStringOption, rejectUnknownOptions, type OptionFailure } from '../backendOptions.ts';
import { parseKnownHostKeys, type KnownHostKeyOption } from './hostKey.ts';
import { normalizeRoot } from './paths.ts';

export interface SFTPStorageOptions {
  host?: string;
  /** Default 22. */
  port?: number;
  /** Default: the user running this process. */
  username?: string;
  /** An OpenSSH or PEM private key (its text, not a path). */
  privateKey?: string | Buffer;
  /** The private key's passphrase, if it has one. */
  passphrase?: string;
  password?: string;
  /**
   * The server's host key, checked at every connection: a public key line (`ssh-ed25519 AAAA…`), a
   * known_hosts line, a SHA256 fingerprint (`SHA256:…`), or a list of them. Required: `false` skips the
   * check (anyone on the path could then impersonate the server) and must be given explicitly.
   */
  knownHostKey?: KnownHostKeyOption;
  /** Folder on the server that names are relative to; default: the login folder. */
  root?: string;
  /** URL the files are served under by a web server; default MEDIA_URL. */
  baseUrl?: string | null;
  /** Mode of new files; default FILE_UPLOAD_PERMISSIONS (0o644). */
  fileMode?: number | null;
  /** Mode of new folders; default: the server's (its umask applies). */
  dirMode?: number | null;
  /** true: a save replaces a file of the same name (atomic posix-rename); false (default): a taken name gets a random suffix. */
  overwriteFiles?: boolean;
  /** Seconds to wait for the connection and the SSH handshake (default 10). */
  connectTimeoutSecs?: number;
}

export interface ResolvedSFTPOptions {
  host: string;
  port: number;
  username: string;
  privateKey: string | Buffer | null;
  passphrase: string | null;
  password: string | null;
  /** false: any host key is accepted; null: none is trusted yet (connections are refused, naming the key). */
  knownHostKey: ReturnType<typeof parseKnownHostKeys> | false | null;
  root: string;
  baseUrl: string | null;
  fileMode: number | null;
  dirMode: number | null;
  overwriteFiles: boolean;
  connectTimeoutMs: number;
}

export const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  'host', 'port', 'username', 'privateKey', 'passphrase', 'password', 'knownHostKey', 'root', 'baseUrl', 'fileMode',
  'dirMode', 'overwriteFiles', 'connectTimeoutSecs',
]);

const fail: OptionFailure = optionFailure('SFTPStorage');

function optionalString(options: Record<string, unknown>, key: string): string | null {
  return optionalStringOption(options, key, fail);
}

function optionalMode(options: Record<string, unknown>, key: string): number | null {
  const value = options[key];
  if (value === undefined || value === null) return null;
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 0o7777) {
    fail(key, `must be a permission mode such as 0o644, got ${String(value)}.`);
  }
  return value as number;
}

export function resolveSFTPOptions(given: SFTPStorageOptions): ResolvedSFTPOptions {
  const options = given as Record<string, unknown>;
  rejectUnknownOptions(options, KNOWN_OPTIONS, 'SFTPStorage', fail);
  const host = optionalString(options, 'host');
  if (host === null) fail('host', 'is required: the SFTP server to connect to.');
  const port = options.port ?? 22;
  if (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535) fail('port', `must be a port number, got ${String(port)}.`);

  const privateKey = options.privateKey ?? null;
  if (privateKey !== null && typeof privateKey !== 'string' && !Buffer.isBuffer(privateKey)) {
    fail('privateKey', 'must be the key itself (a string or Buffer), not a path: read it with fs.readFileSync.');
  }
  if (typeof privateKey === 'string' && !privateKey.includes('PRIVATE KEY')) {
    fail('privateKey', 'must be the key text (-----BEGIN … PRIVATE KEY-----), not a path: read it with fs.readFileSync.');
  }
  const password = optionalString(options, 'password');
  if (privateKey === null && password === null) fail('privateKey', 'or password is required.');

  let knownHostKey: ResolvedSFTPOptions['knownHostKey'] = null;
  const knownHostKeyOption = options.knownHostKey;
  if (knownHostKeyOption === false) {
    knownHostKey = false;
  } else if (knownHostKeyOption !== undefined && knownHostKeyOption !== null) {
    const valid = typeof knownHostKeyOption === 'string'
      || (Array.isArray(knownHostKeyOption) && knownHostKeyOption.every((entry) => typeof entry === 'string'));
    if (!valid) fail('knownHostKey', 'must be a public key line, a SHA256:… fingerprint, a list of them, or false.');
    try {
      knownHostKey = parseKnownHostKeys(knownHostKeyOption as string | string[]);
    } catch (error) {
      fail('knownHostKey', `is not usable: ${(error as Error).message}.`);
    }
  }

  const overwriteFiles = options.overwriteFiles ?? false;
  if (typeof overwriteFiles !== 'boolean') fail('overwriteFiles', 'must be true or false.');
  const connectTimeoutSecs = options.connectTimeoutSecs ?? 10;
  if (typeof connectTimeoutSecs !== 'number' || !(connectTimeoutSecs > 0)) fail('connectTimeoutSecs', 'must be a positive number of seconds.');

  let baseUrl = options.baseUrl === undefined ? null : optionalString(options, 'baseUrl');
  // As Django's FileSystemStorage does for an explicit base URL: the missing slash is added.
  if (baseUrl !== null && !baseUrl.endsWith('/')) baseUrl += '/';

  return {
    host,
    port: port as number,
    username: optionalString(options, 'username') ?? userInfo().username,
    privateKey,
    passphrase: optionalString(options, 'passphrase'),
    password,
    knownHostKey,
    root: normalizeRoot(optionalString(options, 'root') ?? ''),
    baseUrl,
    fileMode: optionalMode(options, 'fileMode'),
    dirMode: optionalMode(options, 'dirMode'),
    overwriteFiles,
    connectTimeoutMs: Math.round(connectTimeoutSecs * 1000),
  };
}
