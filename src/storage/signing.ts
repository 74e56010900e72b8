/**
 * Signed, expiring URLs for storages that have no signing of their own (the local disk): an HMAC of the
 * path and the expiry time, checked by `filefield serve` or by any server through verifySignedUrl().
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { secretKey } from '../conf/secret.ts';

const EXPIRES = 'expires';
const SIGNATURE = 'signature';

function signatureOf(path: string, expires: string, key: string): string {
  return createHmac('sha256', key).update(`filefield.signedUrl\n${path}\n${expires}`).digest('base64url');
}

/** `url` with `expires` (Unix seconds) and `signature` query parameters added. */
export function signUrl(url: string, expiresIn: number, now: number = Date.now()): string {
  if (!Number.isFinite(expiresIn) || expiresIn <= 0) throw new RangeError(`expiresIn must be a positive number of seconds, got ${expiresIn}.`);
  const expires = String(Math.floor(now / 1000 + expiresIn));
  const path = new URL(url, 'http://signed.invalid').pathname;
  const separator = url.includes('?') ? '&' : '?';
  return `${url}${separator}${EXPIRES}=${expires}&${SIGNATURE}=${signatureOf(path, expires, secretKey())}`;
}

export type SignedUrlCheck =
  | { valid: true; path: string; expiresAt: Date }
  | { valid: false; reason: 'unsigned' | 'tampered' | 'expired' };

/**
 * Checks a signed URL (absolute, or a path with its query). `path` is the URL path that was signed,
 * still percent-encoded.
 */
export function verifySignedUrl(url: string, options: { now?: number } = {}): SignedUrlCheck {
  const parsed = new URL(url, 'http://signed.invalid');
  const expires = parsed.searchParams.get(EXPIRES);
  const signature = parsed.searchParams.get(SIGNATURE);
  if (expires === null || signature === null) return { valid: false, reason: 'unsigned' };
  const expected = Buffer.from(signatureOf(parsed.pathname, expires, secretKey()));
  const given = Buffer.from(signature);
  if (!/^\d+$/.test(expires) || given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { valid: false, reason: 'tampered' };
  }
  const expiresAt = new Date(Number(expires) * 1000);
  if (expiresAt.getTime() <= (options.now ?? Date.now())) return { valid: false, reason: 'expired' };
  return { valid: true, path: parsed.pathname, expiresAt };
}

const UPLOAD_EXPIRES = 'upload-expires';
const UPLOAD_MAX = 'upload-max';
const UPLOAD_TYPE = 'upload-type';
const UPLOAD_SIGNATURE = 'upload-signature';

function uploadSignatureOf(path: string, expires: string, maxSize: string, contentType: string, key: string): string {
  return createHmac('sha256', key).update(`filefield.signedUpload\n${path}\n${expires}\n${maxSize}\n${contentType}`).digest('base64url');
}

export interface UploadGrant {
  expiresIn: number;
  maxSize?: number;
  contentType?: string;
}

/** `url` with the query of a signed upload: a PUT of at most maxSize bytes of contentType, until it expires. */
export function signUploadUrl(url: string, grant: UploadGrant, now: number = Date.now()): string {
  if (!Number.isFinite(grant.expiresIn) || grant.expiresIn <= 0) throw new RangeError(`expiresIn must be a positive number of seconds, got ${grant.expiresIn}.`);
  const expires = String(Math.floor(now / 1000 + grant.expiresIn));
  const maxSize = grant.maxSize === undefined ? '' : String(grant.maxSize);
  const contentType = grant.contentType ?? '';
  const path = new URL(url, 'http://signed.invalid').pathname;
  const query = new URLSearchParams({ [UPLOAD_EXPIRES]: expires, [UPLOAD_MAX]: maxSize, [UPLOAD_TYPE]: contentType });
  query.set(UPLOAD_SIGNATURE, uploadSignatureOf(path, expires, maxSize, contentType, secretKey()));
  return `${url}${url.includes('?') ? '&' : '?'}${query}`;
}

export type SignedUploadCheck =
  | { valid: true; maxSize: number | undefined; contentType: string | undefined }
  | { valid: false; reason: 'unsigned' | 'tampered' | 'expired' };

/** Checks a signed upload URL (a path with its query, or absolute). */
export function verifySignedUpload(url: string, options: { now?: number } = {}): SignedUploadCheck {
  const parsed = new URL(url, 'http://signed.invalid');
  const get = (name: string) => parsed.searchParams.get(name);
  const [expires, maxSize, contentType, signature] = [get(UPLOAD_EXPIRES), get(UPLOAD_MAX), get(UPLOAD_TYPE), get(UPLOAD_SIGNATURE)];
  if (expires === null || maxSize === null || contentType === null || signature === null) return { valid: false, reason: 'unsigned' };
  const expected = Buffer.from(uploadSignatureOf(parsed.pathname, expires, maxSize, contentType, secretKey()));
  const given = Buffer.from(signature);
  if (!/^\d+$/.test(expires) || !/^\d*$/.test(maxSize) || given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { valid: false, reason: 'tampered' };
  }
  if (Number(expires) * 1000 <= (options.now ?? Date.now())) return { valid: false, reason: 'expired' };
  return { valid: true, maxSize: maxSize === '' ? undefined : Number(maxSize), contentType: contentType === '' ? undefined : contentType };
}
