/**
 * AzureStorage's options (STORAGES.<alias>.OPTIONS), checked once at construction so that a typo fails at
 * start-up naming the option, and resolved into the account, key and endpoint that both the SDK client and
 * the synchronous url() use (so the two can never disagree).
 */
import { optionFailure, optionalString as optionalStringOption, rejectUnknownOptions, type OptionFailure } from '../backendOptions.ts';
import { normalizeLocation } from './names.ts';

export interface AzureStorageOptions {
  /** Storage account name (or take it from connectionString). */
  accountName?: string;
  /** Base64 account key; needed for signed (SAS) URLs. */
  accountKey?: string;
  /** A connection string from the portal: `DefaultEndpointsProtocol=…;AccountName=…;AccountKey=…;…`. */
  connectionString?: string;
  /** A SAS token for the container or account, instead of a key (url() cannot sign with it). */
  sasToken?: string;
  container?: string;
  /** A prefix every name is stored under. */
  location?: string;
  /** A CDN or custom host name that serves the container (`cdn.example.com`); url() uses it instead of the endpoint. */
  customDomain?: string | null;
  /** When set, url() returns read-only SAS URLs valid for this many seconds (needs accountKey). */
  expirationSecs?: number | null;
  /** true: a save replaces a blob of the same name; false (default): a taken name gets a random suffix. */
  overwriteFiles?: boolean;
  /** Cache-Control of new blobs, e.g. 'public, max-age=86400'. */
  cacheControl?: string | null;
  /** Blob service URL, e.g. `http://127.0.0.1:10000/devstoreaccount1` for azurite; default https://<account>.blob.core.windows.net. */
  endpoint?: string;
  /** Size of each uploaded block in bytes (default 4 MiB); memory held per upload is about blockSize × uploadMaxConnections. */
  blockSize?: number;
  /** Blocks uploaded in parallel (default 2). */
  uploadMaxConnections?: number;
  /** Attempts per request, the first included (default 4; the SDK waits between them). */
  maxTries?: number;
  /** Seconds one attempt may take before it is abandoned and retried (default: no limit). */
  timeoutSecs?: number | null;
}

export interface ResolvedAzureOptions {
  accountName: string;
  accountKey: string | null;
  sasToken: string | null;
  container: string;
  location: string;
  /** The blob service URL without a trailing slash. */
  endpoint: string;
  customDomain: string | null;
  expirationSecs: number | null;
  overwriteFiles: boolean;
  cacheControl: string | null;
  blockSize: number;
  uploadMaxConnections: number;
  maxTries: number;
  timeoutSecs: number | null;
}

export const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  'accountName', 'accountKey', 'connectionString', 'sasToken', 'container', 'location', 'customDomain', 'expirationSecs',
  'overwriteFiles', 'cacheControl', 'endpoint', 'blockSize', 'uploadMaxConnections', 'maxTries', 'timeoutSecs',
]);
const MiB = 1024 * 1024;
/** The largest block the service takes (4000 MiB since API version 2019-12-12). */
const MAX_BLOCK_SIZE = 4000 * MiB;

const fail: OptionFailure = optionFailure('AzureStorage');

function optionalString(options: Record<string, unknown>, key: string): string | null {
  return optionalStringOption(options, key, fail);
}

function positiveInteger(options: Record<string, unknown>, key: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = options[key];
  if (value === undefined || value === null) return fallback;
  if (!Number.isSafeInteger(value) || (value as number) <= 0 || (value as number) > max) {
    fail(key, `must be a whole number from 1 to ${max}, got ${String(value)}.`);
  }
  return value as number;
}

/** `Key=Value;Key=Value` into a map; values may hold '=' (keys and SAS tokens do). */
export function parseConnectionString(connectionString: string): Map<string, string> {
  const parts = new Map<string, string>();
  for (const segment of connectionString.split(';')) {
    const trimmed = segment.trim();
    if (trimmed === '') continue;
    const equals = trimmed.indexOf('=');
    if (equals <= 0) fail('connectionString', `has a part without a key and value: '${trimmed.slice(0, 40)}'.`);
    parts.set(trimmed.slice(0, equals).trim().toLowerCase(), trimmed.slice(equals + 1).trim());
  }
  return parts;
}

interface Account {
  accountName: string | null;
  accountKey: string | null;
  sasToken: string | null;
  endpoint: string | null;
}

/** Development storage shorthand: azurite's (and the old emulator's) documented account on the default port. */
const DEVELOPMENT_ACCOUNT = {
  accountName: 'devstoreaccount1',
  accountKey: 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
  endpoint: 'http://127.0.0.1:10000/devstoreaccount1',
};

function accountFromConnectionString(connectionString: string): Account {
  const parts = parseConnectionString(connectionString);
  if (parts.get('usedevelopmentstorage')?.toLowerCase() === 'true') {
    return { ...DEVELOPMENT_ACCOUNT, sasToken: null };
  }
  const accountName = parts.get('accountname') ?? null;
  let endpoint = parts.get('blobendpoint') ?? null;
  if (endpoint === null && accountName !== null) {
    const protocol = parts.get('defaultendpointsprotocol') ?? 'https';
    const suffix = parts.get('endpointsuffix') ?? 'core.windows.net';
    endpoint = `${protocol}://${accountName}.blob.${suffix}`;
  }
  return {
    accountName,
    accountKey: parts.get('accountkey') ?? null,
    sasToken: parts.get('sharedaccesssignature') ?? null,
    endpoint,
  };
}

/** The account name of an endpoint: the first label of `<account>.blob.…`, or the first path segment (emulators). */
function accountNameOfEndpoint(endpoint: string): string | null {
  const url = new URL(endpoint);
  const label = /^([a-z0-9]+)\.blob\./.exec(url.hostname);
  if (label) return label[1]!;
  const segment = url.pathname.split('/').find(Boolean);
  return segment ?? null;
}

function checkEndpoint(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    fail('endpoint', `must be a URL such as https://myaccount.blob.core.windows.net, got '${endpoint}'.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') fail('endpoint', `must be an http(s) URL, got '${endpoint}'.`);
  if (url.search || url.hash) fail('endpoint', 'must not hold a query or fragment (give a SAS token as sasToken).');
  return endpoint.replace(/\/+$/, '');
}

export function resolveAzureOptions(given: AzureStorageOptions): ResolvedAzureOptions {
  const options = given as Record<string, unknown>;
  rejectUnknownOptions(options, KNOWN_OPTIONS, 'AzureStorage', fail);
  const connectionString = optionalString(options, 'connectionString');
  const fromString: Account = connectionString
    ? accountFromConnectionString(connectionString)
    : { accountName: null, accountKey: null, sasToken: null, endpoint: null };

  const explicitEndpoint = optionalString(options, 'endpoint');
  let accountName = optionalString(options, 'accountName') ?? fromString.accountName;
  const endpointGiven = explicitEndpoint ?? fromString.endpoint;
  if (accountName === null && endpointGiven !== null) accountName = accountNameOfEndpoint(endpointGiven);
  if (accountName === null) {
    fail('accountName', 'is required (or give a connectionString, or an endpoint that names the account).');
  }
  const endpoint = checkEndpoint(endpointGiven ?? `https://${accountName}.blob.core.windows.net`);

  const accountKey = optionalString(options, 'accountKey') ?? fromString.accountKey;
  if (accountKey !== null && !/^[A-Za-z0-9+/]+={0,2}$/.test(accountKey)) {
    fail('accountKey', 'must be the base64 key shown in the portal (Access keys).');
  }
  const sasToken = (optionalString(options, 'sasToken') ?? fromString.sasToken)?.replace(/^\?/, '') ?? null;
  if (accountKey === null && sasToken === null) {
    fail('accountKey', 'or sasToken is required (or a connectionString that holds one).');
  }

  const container = optionalString(options, 'container');
  if (container === null) fail('container', 'is required: the name of the blob container to store files in.');
  if (!/^(?:\$root|[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62})$/.test(container)) {
    fail('container', `'${container}' is not a valid container name (3-63 lowercase letters, digits and single hyphens).`);
  }

  const expirationSecs = options.expirationSecs === undefined || options.expirationSecs === null
    ? null
    : positiveInteger(options, 'expirationSecs', 0);
  if (expirationSecs !== null && accountKey === null) {
    fail('expirationSecs', 'needs accountKey: SAS URLs are signed with the account key.');
  }
  const overwriteFiles = options.overwriteFiles ?? false;
  if (typeof overwriteFiles !== 'boolean') fail('overwriteFiles', 'must be true or false.');
  const customDomain = optionalString(options, 'customDomain');
  if (customDomain !== null && /[/?#\s]/.test(customDomain)) {
    fail('customDomain', `must be a host name (with an optional port), not a URL: '${customDomain}'.`);
  }

  return {
    accountName,
    accountKey,
    sasToken,
    container,
    location: normalizeLocation(optionalString(options, 'location') ?? ''),
    endpoint,
    customDomain,
    expirationSecs,
    overwriteFiles,
    cacheControl: optionalString(options, 'cacheControl'),
    blockSize: positiveInteger(options, 'blockSize', 4 * MiB, MAX_BLOCK_SIZE),
    uploadMaxConnections: positiveInteger(options, 'uploadMaxConnections', 2, 64),
    maxTries: positiveInteger(options, 'maxTries', 4, 20),
    timeoutSecs: options.timeoutSecs === undefined || options.timeoutSecs === null ? null : positiveInteger(options, 'timeoutSecs', 0),
  };
}
