/**
 * Turning the path of a media request into a storage name, refusing anything that could reach outside
 * the media folder. The checks are on the raw, still-encoded path and on each decoded segment, before
 * any storage call, so a hostile URL is answered without touching the disk.
 */

/** Encoded forms that would smuggle a separator, a NUL or a backslash through percent-decoding. */
const ENCODED_DANGER = /%(2f|5c|00)/i;

/**
 * The storage name for a request path under `prefix` (MEDIA_URL's path, ending with '/'), or null when
 * the path is not under the prefix or is not an acceptable name.
 */
export function mediaNameFromPath(rawPath: string, prefix: string): string | null {
  if (!rawPath.startsWith(prefix)) return null;
  const encodedName = rawPath.slice(prefix.length);
  if (encodedName === '' || encodedName.includes('\\') || encodedName.includes('\0') || ENCODED_DANGER.test(encodedName)) {
    return null;
  }
  const segments: string[] = [];
  for (const encodedSegment of encodedName.split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(encodedSegment);
    } catch {
      return null; // malformed percent-encoding
    }
    // An empty segment is a doubled or leading slash (an absolute path once joined); dots walk upwards.
    if (segment === '' || segment === '.' || segment === '..') return null;
    // Hidden files are the project's, not uploads (.filefield_secret, .env, .git, saves in progress).
    if (segment.startsWith('.')) return null;
    if (/[\u0000-\u001f\u007f\\/]/.test(segment)) return null;
    segments.push(segment);
  }
  return segments.join('/');
}

/** The path part of a MEDIA_URL ('/media/' for both '/media/' and 'https://cdn.example/media/'). */
export function mediaPrefixOf(mediaUrl: string): string {
  const path = new URL(mediaUrl, 'http://media.invalid').pathname;
  return path.endsWith('/') ? path : `${path}/`;
}
