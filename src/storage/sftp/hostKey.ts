/**
 * Server identity: the host keys a user trusts (`knownHostKey`) and the check of the key a server presents.
 *
 * Accepted forms, as users have them at hand: a public key line (`ssh-ed25519 AAAA… comment`), a
 * known_hosts line (`host ssh-ed25519 AAAA…`), several such lines, the bare base64 key, or a SHA256
 * fingerprint as `ssh-keygen -l` prints it (`SHA256:…`).
 */
import { createHash } from 'node:crypto';

export type KnownHostKeyOption = string | readonly string[] | false | undefined;

/** One trusted key: its raw blob, or only its SHA256 fingerprint. */
type TrustedKey = { blob: Buffer } | { fingerprint: string };

const FINGERPRINT = /^SHA256:([A-Za-z0-9+/]{43})=?$/;
/** Every SSH public key blob starts with a length-prefixed type name, hence "AAAA" in base64. */
const KEY_BLOB = /^AAAA[A-Za-z0-9+/]+={0,2}$/;

/** `SHA256:<base64 without padding>` of a key blob, as OpenSSH prints it. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type written inside a blob (`ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`…). */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const length = keyBlob.readUInt32BE(0);
  return length > 0 && length < 64 && keyBlob.length >= 4 + length ? keyBlob.toString('latin1', 4, 4 + length) : 'unknown';
}

/** `ssh-ed25519 SHA256:…`: how a key is shown in messages. */
export function describeKey(keyBlob: Buffer): string {
  return `${keyTypeOf(keyBlob)} ${fingerprintOf(keyBlob)}`;
}

/** The trusted keys in an option value; throws (with `problem`) on an entry that is none of the accepted forms. */
export function parseKnownHostKeys(option: string | readonly string[]): TrustedKey[] {
  const entries = typeof option === 'string' ? [option] : option;
  const keys: TrustedKey[] = [];
  for (const entry of entries) {
    for (const line of entry.split(/\r?\n/)) {
      const trimmed = line.trim();
      if (trimmed === '' || trimmed.startsWith('#')) continue;
      const fingerprint = FINGERPRINT.exec(trimmed);
      if (fingerprint) {
        keys.push({ fingerprint: `SHA256:${fingerprint[1]}` });
        continue;
      }
      const blob = trimmed.split(/\s+/).find((token) => KEY_BLOB.test(token));
      if (blob === undefined) {
        throw new Error(`'${trimmed.slice(0, 60)}' is not a public key line, a base64 key nor a SHA256:… fingerprint`);
      }
      keys.push({ blob: Buffer.from(blob, 'base64') });
    }
  }
  if (keys.length === 0) throw new Error('no key was given');
  return keys;
}

/** Whether the key a server presented is one of the trusted ones. */
export function isTrusted(trusted: readonly TrustedKey[], presented: Buffer): boolean {
  const fingerprint = fingerprintOf(presented);
  return trusted.some((key) => ('blob' in key ? key.blob.equals(presented) : key.fingerprint === fingerprint));
}
