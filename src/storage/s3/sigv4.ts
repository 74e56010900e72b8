/**
 * AWS Signature Version 4 for query strings (presigned URLs), with node:crypto only.
 *
 * The SDK's presigner is asynchronous (its credentials and endpoint come from async providers), but
 * storage.url() is synchronous like Django's, so the same signature is computed here from static credentials.
 * The tests compare the result with the SDK presigner's, byte for byte.
 * Reference: https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
 */
import { createHash, createHmac } from 'node:crypto';
import { encodeSegment } from './addressing.ts';
import type { StaticCredentials } from './options.ts';

const ALGORITHM = 'AWS4-HMAC-SHA256';
/** S3 lets a presigned GET leave the body's hash out: the URL does not depend on what is downloaded. */
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

export interface PresignRequest {
  method: string;
  /** The object's URL; its path must already be encoded as it goes on the wire (encodeKey). */
  url: URL;
  region: string;
  credentials: StaticCredentials;
  /** Seconds the URL stays valid. */
  expiresIn: number;
  service?: string;
  /** The signing time (default: now). */
  signingDate?: Date;
}

/** `20240102T030405Z` and `20240102`. */
function timestamps(date: Date): { dateTime: string; day: string } {
  const dateTime = date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
  return { dateTime, day: dateTime.slice(0, 8) };
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function hmac(key: string | Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text, 'utf8').digest();
}

/** The query string as SigV4 canonicalizes it: every name and value encoded, sorted by name, then value. */
function canonicalQuery(parameters: ReadonlyArray<[string, string]>): string {
  return parameters
    .map(([name, value]) => [encodeSegment(name), encodeSegment(value)] as const)
    .sort(([nameA, valueA], [nameB, valueB]) => (nameA < nameB ? -1 : nameA > nameB ? 1 : valueA < valueB ? -1 : valueA > valueB ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

/** A URL that grants `method` on `url` until `expiresIn` seconds after the signing time. */
export function presignUrl(request: PresignRequest): string {
  const service = request.service ?? 's3';
  const { dateTime, day } = timestamps(request.signingDate ?? new Date());
  const scope = `${day}/${request.region}/${service}/aws4_request`;
  const { credentials, url } = request;
  const parameters: Array<[string, string]> = [...url.searchParams.entries()];
  parameters.push(
    ['X-Amz-Algorithm', ALGORITHM],
    ['X-Amz-Content-Sha256', UNSIGNED_PAYLOAD],
    ['X-Amz-Credential', `${credentials.accessKeyId}/${scope}`],
    ['X-Amz-Date', dateTime],
    ['X-Amz-Expires', String(request.expiresIn)],
    ['X-Amz-SignedHeaders', 'host'],
  );
  if (credentials.sessionToken) parameters.push(['X-Amz-Security-Token', credentials.sessionToken]);
  const query = canonicalQuery(parameters);
  // `host` is the only signed header: a browser or curl sends it unchanged, nothing else is certain.
  const canonicalRequest = [request.method, url.pathname, query, `host:${url.host}\n`, 'host', UNSIGNED_PAYLOAD].join('\n');
  const stringToSign = [ALGORITHM, dateTime, scope, sha256Hex(canonicalRequest)].join('\n');
  let signingKey = hmac(`AWS4${credentials.secretAccessKey}`, day);
  for (const part of [request.region, service, 'aws4_request']) signingKey = hmac(signingKey, part);
  const signature = createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
  const signed = canonicalQuery([...parameters, ['X-Amz-Signature', signature]]);
  return `${url.origin}${url.pathname}?${signed}`;
}

export interface PostPolicyRequest {
  /** The bucket's URL (the form's action). */
  url: URL;
  bucket: string;
  key: string;
  region: string;
  credentials: StaticCredentials;
  /** Seconds the form stays valid. */
  expiresIn: number;
  /** Form fields the upload must send exactly as given (Content-Type…), beside the key. */
  fields: Record<string, string>;
  /** The largest upload in bytes, as a content-length-range condition; none when absent. */
  maxSize?: number;
  signingDate?: Date;
}

export interface PostPolicy {
  expiration: string;
  conditions: unknown[];
}

/**
 * An S3 presigned POST: the fields of a browser form that may upload one object, and the policy they carry
 * (signed with SigV4: the signature is the HMAC of the base64 policy under the day's signing key).
 * Reference: https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
 */
export function presignPost(request: PostPolicyRequest): { fields: Record<string, string>; policy: PostPolicy } {
  const signingDate = request.signingDate ?? new Date();
  const { dateTime, day } = timestamps(signingDate);
  const { credentials } = request;
  const fields: Record<string, string> = {
    key: request.key,
    ...request.fields,
    'x-amz-algorithm': ALGORITHM,
    'x-amz-credential': `${credentials.accessKeyId}/${day}/${request.region}/s3/aws4_request`,
    'x-amz-date': dateTime,
    ...(credentials.sessionToken ? { 'x-amz-security-token': credentials.sessionToken } : {}),
  };
  const policy: PostPolicy = {
    expiration: new Date(signingDate.getTime() + request.expiresIn * 1000).toISOString(),
    conditions: [
      { bucket: request.bucket },
      ...Object.entries(fields).map(([name, value]) => ({ [name]: value })),
      ...(request.maxSize === undefined ? [] : [['content-length-range', 0, request.maxSize]]),
    ],
  };
  const encoded = Buffer.from(JSON.stringify(policy), 'utf8').toString('base64');
  let signingKey = hmac(`AWS4${credentials.secretAccessKey}`, day);
  for (const part of [request.region, 's3', 'aws4_request']) signingKey = hmac(signingKey, part);
  const signature = createHmac('sha256', signingKey).update(encoded, 'utf8').digest('hex');
  return { fields: { ...fields, policy: encoded, 'x-amz-signature': signature }, policy };
}
