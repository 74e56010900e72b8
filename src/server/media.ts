/**
 * Serving stored files under MEDIA_URL: streamed from storage.open(), with ranges, validators and
 * headers that keep an uploaded file from ever running as a page of this origin.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { settings } from '../conf/settings.ts';
import { sniffContentType } from '../files/contentType.ts';
import type { File } from '../files/File.ts';
import type { ModelClass } from '../models/Model.ts';
import { isProjectFile } from '../storage/projectFiles.ts';
import { verifySignedUrl } from '../storage/signing.ts';
import type { Storage } from '../storage/Storage.ts';
import { etagOf, ifRangeAllows, isNotModified, parseRange, toWholeSeconds, type Validators } from './conditional.ts';
import { acceptSignedUpload } from './directUpload.ts';
import { mediaNameFromPath } from './mediaName.ts';
import { recordedContentType } from './models.ts';

/** Raster formats browsers display as images and never execute: the only types sent inline. */
const INLINE_IMAGE_TYPES = new Set([
  'image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/bmp', 'image/tiff', 'image/avif',
  'image/x-icon', 'image/vnd.microsoft.icon',
]);

/** Types a browser would run as a document or script if it ever rendered them; sent as opaque bytes. */
const ACTIVE_CONTENT = /^(text\/html|application\/xhtml\+xml|image\/svg\+xml|text\/xml|application\/xml|text\/xsl|.*\+xml|.*(java|ecma)script.*)$/;

const TYPE_SYNTAX = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/;

const MEDIA_SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; sandbox",
} as const;

const STREAM_CHUNK_SIZE = 64 * 1024;

export interface MediaContext {
  storage: Storage;
  models: readonly ModelClass[];
}

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

function sendStatus(response: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const body = `${message}\n`;
  response.writeHead(status, {
    ...MEDIA_SECURITY_HEADERS,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    ...headers,
  });
  response.end(body);
}

async function optional<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch {
    return undefined;
  }
}

/** Bytes [start, end] of the file, read forward in pieces so memory stays at one piece per download. */
async function* byteRange(file: File, start: number, end: number): AsyncGenerator<Uint8Array> {
  if (file.seekable) {
    file.seek(start);
  } else {
    for (let skipped = 0; skipped < start;) {
      const piece = await file.read(Math.min(STREAM_CHUNK_SIZE, start - skipped));
      if (piece.byteLength === 0) return;
      skipped += piece.byteLength;
    }
  }
  for (let remaining = end - start + 1; remaining > 0;) {
    const piece = await file.read(Math.min(STREAM_CHUNK_SIZE, remaining));
    if (piece.byteLength === 0) return;
    remaining -= piece.byteLength;
    yield piece;
  }
}

/**
 * Answers a GET or HEAD for `rawPath` (the request path, still percent-encoded) under `prefix`.
 * `rawQuery` is the query string without '?', for signed URLs.
 */
export async function serveMedia(
  request: IncomingMessage,
  response: ServerResponse,
  context: MediaContext,
  target: { prefix: string; rawPath: string; rawQuery: string },
): Promise<void> {
  const local = context.storage.isLocal && context.storage.capabilities.uploadSigning;
  if (request.method !== 'GET' && request.method !== 'HEAD' && !(request.method === 'PUT' && local)) {
    sendStatus(response, 405, 'Method not allowed.', { Allow: local ? 'GET, HEAD, PUT' : 'GET, HEAD' });
    return;
  }
  const name = mediaNameFromPath(target.rawPath, target.prefix);
  if (name === null) {
    sendStatus(response, 404, 'Not found.');
    return;
  }
  if (request.method === 'PUT') {
    await acceptSignedUpload(request, response, context.storage, name, `${target.rawPath}?${target.rawQuery}`);
    return;
  }

  const query = new URLSearchParams(target.rawQuery);
  const signed = query.has('signature') || query.has('expires');
  if (signed) {
    const check = verifySignedUrl(`${target.rawPath}?${target.rawQuery}`);
    if (!check.valid) {
      const reason = check.reason === 'expired' ? 'This link has expired.' : 'This link is not valid.';
      sendStatus(response, 403, reason);
      return;
    }
  }

  const { storage } = context;
  if (isProjectFile(storage, name)) {
    // MEDIA_ROOT set to the project's folder (or above it) must not publish the rows or the settings.
    sendStatus(response, 404, 'Not found.');
    return;
  }
  if (!storage.isLocal) {
    // The storage serves its own files (S3, Azure…); its URL is where they are (never this very URL).
    const location = storage.url(name);
    if (new URL(location, 'http://media.invalid').pathname === target.rawPath) {
      sendStatus(response, 404, 'Not found.');
      return;
    }
    response.writeHead(302, { Location: location, 'Cache-Control': 'no-store', 'Content-Length': 0 });
    response.end();
    return;
  }

  let file: File;
  let head: Uint8Array;
  try {
    file = await storage.open(name);
  } catch {
    sendStatus(response, 404, 'Not found.');
    return;
  }
  try {
    // Reading the first byte tells a file from a folder (which opens, but cannot be read).
    head = await file.peekStart(1);
  } catch {
    await file.close().catch(() => undefined);
    sendStatus(response, 404, 'Not found.');
    return;
  }

  try {
    const size = file.sizeIfKnown ?? (await storage.size(name));
    const modified = await optional(() => storage.getModifiedTime(name));
    const validators: Validators = {
      etag: etagOf(size, modified),
      lastModified: modified && toWholeSeconds(modified),
    };
    // The object headers given at save time; the type still goes through safeContentType().
    const kept = await optional(() => storage.headers(name));
    const contentType = safeContentType(
      (await recordedContentType(context.models, storage, name))
        ?? kept?.contentType
        ?? (head.byteLength === 0 ? 'application/octet-stream' : await sniffContentType(file)),
    );
    const headers: Record<string, string | number> = {
      ...MEDIA_SECURITY_HEADERS,
      'Content-Type': contentType,
      // A kept disposition may only make a download of it (never render inline what is not an image).
      'Content-Disposition': kept?.contentDisposition?.startsWith('attachment')
        ? kept.contentDisposition
        : contentDisposition(isInlineImage(contentType) ? 'inline' : 'attachment', name),
      'Accept-Ranges': 'bytes',
      // A signed link must not outlive its expiry in a shared cache; plain media are revalidated each time.
      'Cache-Control': signed ? 'private, no-store' : kept?.cacheControl ?? 'no-cache',
      ETag: validators.etag!,
    };
    if (validators.lastModified) headers['Last-Modified'] = validators.lastModified.toUTCString();

    if (isNotModified(request.headers, validators)) {
      const { 'Content-Type': _type, 'Content-Disposition': _disposition, ...kept } = headers;
      response.writeHead(304, kept);
      response.end();
      return;
    }

    const range = ifRangeAllows(request.headers, validators) ? parseRange(request.headers.range, size) : { kind: 'whole' as const };
    if (range.kind === 'unsatisfiable') {
      sendStatus(response, 416, 'Range not satisfiable.', { 'Content-Range': `bytes */${size}` });
      return;
    }
    const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, size - 1];
    headers['Content-Length'] = Math.max(0, end - start + 1);
    if (range.kind === 'partial') headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    response.writeHead(range.kind === 'partial' ? 206 : 200, headers);
    if (request.method === 'HEAD' || size === 0) {
      response.end();
      return;
    }
    // pipeline() stops reading when the client goes away mid-download; a broken download is not our error.
    await pipeline(Readable.from(byteRange(file, start, end), { objectMode: false }), response).catch(() => undefined);
  } finally {
    await file.close().catch(() => undefined);
  }
}
