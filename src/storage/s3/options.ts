/**
 * S3Storage's options: what STORAGES.<alias>.OPTIONS may hold, checked once at construction so that a typo or
 * a bad value fails at start-up with the option named, and completed from the usual AWS environment variables.
 */
import { ImproperlyConfigured } from '../../errors.ts';
import { rejectUnknownOptions } from '../backendOptions.ts';
import { normalizeLocation } from './keys.ts';

/** Object settings applied to every upload (django-storages' AWS_S3_OBJECT_PARAMETERS). */
export interface S3ObjectParameters {
  CacheControl?: string;
  ContentDisposition?: string;
  ContentEncoding?: string;
  ContentLanguage?: string;
  /** Overrides the type sniffed from the bytes. */
  ContentType?: string;
  Metadata?: Record<string, string>;
  ServerSideEncryption?: string;
  SSEKMSKeyId?: string;
  StorageClass?: string;
  Tagging?: string;
}

/**
 * What uploadParameters() gives: PutObject's parameters, in the SDK's names, but the body. Declared here rather
 * than taken from the SDK, so that filefield's types compile without the SDK installed.
 */
export interface S3UploadParameters extends S3ObjectParameters {
  Bucket: string;
  Key: string;
  ACL?: string;
  IfNoneMatch?: string;
  [parameter: string]: unknown;
}

export type ChecksumMode = 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';

export interface S3StorageOptions {
  bucket?: string;
  /** Default: AWS_REGION, AWS_DEFAULT_REGION, else 'us-east-1' ('auto' for Cloudflare R2). */
  region?: string;
  /** For S3-compatible services (MinIO, R2, Spaces, Ceph); default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS. */
  endpoint?: string;
  /** `https://host/bucket/key` instead of `https://bucket.host/key` (MinIO and most self-hosted servers need it). */
  forcePathStyle?: boolean;
  /** Default: AWS_ACCESS_KEY_ID; without one, the SDK's provider chain (profiles, SSO, instance roles) is used. */
  accessKeyId?: string;
  /** Default: AWS_SECRET_ACCESS_KEY. */
  secretAccessKey?: string;
  /** Default: AWS_SESSION_TOKEN (with the environment's keys only). */
  sessionToken?: string;
  /** A key prefix every name is stored under. */
  location?: string;
  /** A CDN or bucket domain that serves the objects: url() gives `urlProtocol//customDomain/key`, unsigned. */
  customDomain?: string | null;
  urlProtocol?: 'https:' | 'http:';
  /** true (default): url() is a presigned GET URL; false: the plain object URL (for public buckets). */
  querystringAuth?: boolean;
  /** Lifetime of url()'s presigned URLs, in seconds (default 3600, at most 604800). */
  querystringExpire?: number;
  /** A canned ACL for new objects ('private', 'public-read', …); default: none (the bucket's setting). */
  defaultAcl?: string | null;
  /** true: a save replaces an object of the same name; false (default): a clash gets a random suffix. */
  fileOverwrite?: boolean;
  objectParameters?: S3ObjectParameters;
  /**
   * About the most memory one upload may take (default 20 MiB). Parts are sent in parallel within it, each
   * counted twice (lib-storage copies a part's pieces into one buffer): the default sends two 5 MiB parts at a time.
   */
  maxMemorySize?: number;
  /** Uploads up to this size go in one PUT; larger ones go multipart in parts of this size (default and minimum 5 MiB). */
  multipartChunkSize?: number;
  /** Default: 'WHEN_REQUIRED' with a custom endpoint (most S3-compatible servers reject the newer checksums), else the SDK's. */
  requestChecksumCalculation?: ChecksumMode;
  responseChecksumValidation?: ChecksumMode;
  /** Attempts per request, the first included (SDK default 3). */
  maxAttempts?: number;
  /** Milliseconds to wait for a connection (default 10000). */
  connectTimeout?: number;
  /** Milliseconds a request may stay without a response (default: none). */
  requestTimeout?: number;
}

export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface ResolvedS3Options {
  bucket: string;
  region: string;
  endpoint: URL | null;
  forcePathStyle: boolean;
  /** null: left to the SDK's provider chain (so url() cannot sign synchronously). */
  credentials: StaticCredentials | null;
  location: string;
  customDomain: string | null;
  urlProtocol: 'https:' | 'http:';
  querystringAuth: boolean;
  querystringExpire: number;
  defaultAcl: string | null;
  fileOverwrite: boolean;
  objectParameters: S3ObjectParameters;
  maxMemorySize: number;
  multipartChunkSize: number;
  requestChecksumCalculation: ChecksumMode | undefined;
  responseChecksumValidation: ChecksumMode | undefined;
  maxAttempts: number | undefined;
  connectTimeout: number;
  requestTimeout: number | undefined;
}

const MiB = 1024 * 1024;
/** S3's smallest part (but the last). */
export const MIN_PART_SIZE = 5 * MiB;
/** The longest a SigV4 presigned URL may live. */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

export const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  'bucket', 'region', 'endpoint', 'forcePathStyle', 'accessKeyId', 'secretAccessKey', 'sessionToken', 'location',
  'customDomain', 'urlProtocol', 'querystringAuth', 'querystringExpire', 'defaultAcl', 'fileOverwrite',
  'objectParameters', 'maxMemorySize', 'multipartChunkSize', 'requestChecksumCalculation',
  'responseChecksumValidation', 'maxAttempts', 'connectTimeout', 'requestTimeout',
]);

const OBJECT_PARAMETERS = new Set([
  'CacheControl', 'ContentDisposition', 'ContentEncoding', 'ContentLanguage', 'ContentType', 'Metadata',
  'ServerSideEncryption', 'SSEKMSKeyId', 'StorageClass', 'Tagging',
]);

function fail(option: string, problem: string): never {
  throw new ImproperlyConfigured(`S3Storage option ${option} ${problem}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? JSON.stringify(value) : `${typeof value} ${String(value)}`;
}

function optionalString(options: Record<string, unknown>, key: string): string | undefined {
  const value = options[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value === '') fail(key, `must be a non-empty string, got ${describe(value)}.`);
  return value;
}

function optionalBoolean(options: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(key, `must be true or false, got ${describe(value)}.`);
  return value;
}

function optionalInteger(options: Record<string, unknown>, key: string, range: [number, number]): number | undefined {
  const value = options[key];
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || (value as number) < range[0] || (value as number) > range[1]) {
    fail(key, `must be a whole number from ${range[0]} to ${range[1]}, got ${describe(value)}.`);
  }
  return value as number;
}

function optionalChecksumMode(options: Record<string, unknown>, key: string): ChecksumMode | undefined {
  const value = options[key];
  if (value === undefined) return undefined;
  if (value !== 'WHEN_SUPPORTED' && value !== 'WHEN_REQUIRED') {
    fail(key, `must be 'WHEN_SUPPORTED' or 'WHEN_REQUIRED', got ${describe(value)}.`);
  }
  return value;
}

function environment(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
}

function parseEndpoint(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail('endpoint', `must be a URL such as 'https://s3.example.com' or 'http://127.0.0.1:9000', got ${describe(value)}.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail('endpoint', `must be an http: or https: URL, got ${describe(value)}.`);
  if (url.search || url.hash || url.username) fail('endpoint', `must hold no query, fragment or user info, got ${describe(value)}.`);
  return url;
}

/**
 * Static credentials from the options, else from the environment. Keys are never mixed between the two:
 * an access key from OPTIONS with a secret from the environment would be a confusing half-configuration.
 */
function resolveCredentials(options: Record<string, unknown>): StaticCredentials | null {
  const accessKeyId = optionalString(options, 'accessKeyId');
  const secretAccessKey = optionalString(options, 'secretAccessKey');
  const sessionToken = optionalString(options, 'sessionToken');
  if (accessKeyId !== undefined || secretAccessKey !== undefined) {
    if (accessKeyId === undefined || secretAccessKey === undefined) {
      fail(accessKeyId === undefined ? 'accessKeyId' : 'secretAccessKey', 'is missing: accessKeyId and secretAccessKey go together.');
    }
    return sessionToken === undefined ? { accessKeyId, secretAccessKey } : { accessKeyId, secretAccessKey, sessionToken };
  }
  if (sessionToken !== undefined) fail('sessionToken', 'needs accessKeyId and secretAccessKey beside it.');
  const environmentKey = environment('AWS_ACCESS_KEY_ID');
  const environmentSecret = environment('AWS_SECRET_ACCESS_KEY');
  if (environmentKey === undefined || environmentSecret === undefined) return null;
  const environmentToken = environment('AWS_SESSION_TOKEN');
  return environmentToken === undefined
    ? { accessKeyId: environmentKey, secretAccessKey: environmentSecret }
    : { accessKeyId: environmentKey, secretAccessKey: environmentSecret, sessionToken: environmentToken };
}

function resolveObjectParameters(value: unknown): S3ObjectParameters {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) fail('objectParameters', `must be an object, got ${describe(value)}.`);
  for (const [key, parameter] of Object.entries(value)) {
    if (!OBJECT_PARAMETERS.has(key)) {
      fail(`objectParameters.${key}`, `is not supported (known: ${[...OBJECT_PARAMETERS].join(', ')}).`);
    }
    if (key === 'Metadata') {
      const entries = typeof parameter === 'object' && parameter !== null && !Array.isArray(parameter) ? Object.entries(parameter) : null;
      if (entries === null || entries.some(([, entry]) => typeof entry !== 'string')) {
        fail('objectParameters.Metadata', `must be an object of strings, got ${describe(parameter)}.`);
      }
    } else if (typeof parameter !== 'string') {
      fail(`objectParameters.${key}`, `must be a string, got ${describe(parameter)}.`);
    }
  }
  return { ...(value as S3ObjectParameters) };
}

export function resolveS3Options(input: S3StorageOptions | Record<string, unknown> = {}): ResolvedS3Options {
  if (typeof input !== 'object' || input === null) throw new ImproperlyConfigured('S3Storage options must be an object.');
  const options = input as Record<string, unknown>;
  rejectUnknownOptions(options, KNOWN_OPTIONS, 'S3Storage', fail);
  const bucket = optionalString(options, 'bucket');
  if (bucket === undefined) fail('bucket', 'is required: the name of the bucket to store files in.');
  const endpointText = optionalString(options, 'endpoint') ?? environment('AWS_ENDPOINT_URL_S3') ?? environment('AWS_ENDPOINT_URL');
  const endpoint = endpointText === undefined ? null : parseEndpoint(endpointText);
  const urlProtocol = options.urlProtocol ?? 'https:';
  if (urlProtocol !== 'https:' && urlProtocol !== 'http:') fail('urlProtocol', `must be 'https:' or 'http:', got ${describe(urlProtocol)}.`);
  const location = optionalString(options, 'location');
  const multipartChunkSize = optionalInteger(options, 'multipartChunkSize', [MIN_PART_SIZE, 5 * 1024 * MiB]) ?? MIN_PART_SIZE;
  const maxMemorySize = optionalInteger(options, 'maxMemorySize', [MIN_PART_SIZE, Number.MAX_SAFE_INTEGER]) ?? 20 * MiB;
  const requestChecksumCalculation = optionalChecksumMode(options, 'requestChecksumCalculation');
  const responseChecksumValidation = optionalChecksumMode(options, 'responseChecksumValidation');
  return {
    bucket,
    region: optionalString(options, 'region') ?? environment('AWS_REGION') ?? environment('AWS_DEFAULT_REGION') ?? 'us-east-1',
    endpoint,
    forcePathStyle: optionalBoolean(options, 'forcePathStyle', false),
    credentials: resolveCredentials(options),
    location: location === undefined ? '' : normalizeLocation(location),
    customDomain: optionalString(options, 'customDomain')?.replace(/\/+$/, '') ?? null,
    urlProtocol,
    querystringAuth: optionalBoolean(options, 'querystringAuth', true),
    querystringExpire: optionalInteger(options, 'querystringExpire', [1, MAX_PRESIGN_SECONDS]) ?? 3600,
    defaultAcl: optionalString(options, 'defaultAcl') ?? null,
    fileOverwrite: optionalBoolean(options, 'fileOverwrite', false),
    objectParameters: resolveObjectParameters(options.objectParameters),
    maxMemorySize,
    multipartChunkSize,
    // Custom endpoints are mostly not AWS: the SDK's newer default checksums break uploads on many of them.
    requestChecksumCalculation: requestChecksumCalculation ?? (endpoint ? 'WHEN_REQUIRED' : undefined),
    responseChecksumValidation: responseChecksumValidation ?? (endpoint ? 'WHEN_REQUIRED' : undefined),
    maxAttempts: optionalInteger(options, 'maxAttempts', [1, 100]),
    connectTimeout: optionalInteger(options, 'connectTimeout', [1, 3_600_000]) ?? 10_000,
    requestTimeout: optionalInteger(options, 'requestTimeout', [1, 86_400_000]),
  };
}
