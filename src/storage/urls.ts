/**
 * URL building shared by the storages that serve under a base URL (MEDIA_URL).
 */
import { filepathToUri } from '../files/names.ts';

/**
 * Python's urljoin for the one case storages need: a base URL and a relative path (no scheme, no
 * leading '/'). Ported step for step so that URLs equal Django's, dot segments and empty segments included.
 */
function joinRelative(base: string, relative: string): string {
  if (relative === '') return base;
  const prefix = /^([a-zA-Z][a-zA-Z0-9+.-]*:)?(\/\/[^/?#]*)?/.exec(base)![0];
  const basePath = base.slice(prefix.length).replace(/[?#].*$/, '');
  const baseParts = basePath.split('/');
  if (baseParts[baseParts.length - 1] !== '') baseParts.pop();
  const joined = [...baseParts, ...relative.split('/')];
  const segments = [joined[0]!, ...joined.slice(1, -1).filter(Boolean), ...(joined.length > 1 ? [joined[joined.length - 1]!] : [])];
  const resolved: string[] = [];
  for (const segment of segments) {
    if (segment === '..') resolved.pop();
    else if (segment !== '.') resolved.push(segment);
  }
  const lastSegment = segments[segments.length - 1];
  if (lastSegment === '.' || lastSegment === '..') resolved.push('');
  return prefix + (resolved.join('/') || '/');
}

/**
 * The public URL of a stored name under `baseUrl`, as Django's FileSystemStorage.url(): the name is
 * percent-encoded and stripped of leading slashes, so it can never become a protocol-relative URL.
 */
export function mediaUrl(baseUrl: string | null, name: string | null): string {
  if (baseUrl === null) throw new Error('This file is not accessible via a URL.');
  if (name === null || name === undefined) return baseUrl;
  const uri = filepathToUri(name)!.replace(/^\/+/, '');
  return joinRelative(baseUrl, uri);
}
