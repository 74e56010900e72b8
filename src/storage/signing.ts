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
