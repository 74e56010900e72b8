/**
 * The headers that keep a stored file from ever running as a page of the site that serves it: a type a
 * browser will not execute, and inline display for raster images only.
 */

/** Raster formats browsers display as images and never execute: the only types sent inline. */
const INLINE_IMAGE_TYPES = new Set([
  'image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/bmp', 'image/tiff', 'image/avif',
  'image/x-icon', 'image/vnd.microsoft.icon',
]);

/** Types a browser would run as a document or script if it ever rendered them; sent as opaque bytes. */
const ACTIVE_CONTENT = /^(text\/html|application\/xhtml\+xml|image\/svg\+xml|text\/xml|application\/xml|text\/xsl|.*\+xml|.*(java|ecma)script.*)$/;

const TYPE_SYNTAX = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/;

export const MEDIA_SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; sandbox",
} as const;

/** The Content-Type to send: a well-formed type, never one a browser would execute. */
export function safeContentType(recorded: string): string {
  const type = recorded.split(';')[0]!.trim().toLowerCase();
  if (!TYPE_SYNTAX.test(type) || ACTIVE_CONTENT.test(type)) return 'application/octet-stream';
  return type === 'text/plain' ? 'text/plain; charset=utf-8' : type;
}

export function isInlineImage(contentType: string): boolean {
  return INLINE_IMAGE_TYPES.has(contentType);
}

/** RFC 6266: an ASCII fallback plus the exact UTF-8 name. */
export function contentDisposition(kind: 'inline' | 'attachment', name: string): string {
  const baseName = name.slice(name.lastIndexOf('/') + 1);
  const fallback = baseName.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const encoded = encodeURIComponent(baseName).replace(/['()*!]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
