/**
 * Serving stored files under MEDIA_URL: streamed from storage.open(), with ranges, validators and
 * headers that keep an uploaded file from ever running as a page of this origin. Transport-free: the
 * answer is written out by the Node and the web handlers alike.
 */
import { sniffContentType } from '../files/contentType.ts';
import type { File } from '../files/File.ts';
import type { FieldFile } from '../models/FieldFile.ts';
import type { ModelClass } from '../models/Model.ts';
import { keptHeadersOf } from '../storage/keptHeaders.ts';
import { isProjectFile } from '../storage/projectFiles.ts';
import { verifySignedUrl } from '../storage/signing.ts';
import type { Storage } from '../storage/Storage.ts';
import { textAnswer, type HttpAnswer } from './answer.ts';
import { etagOf, ifRangeAllows, isNotModified, parseRange, toWholeSeconds, type RequestHeaders, type Validators } from './conditional.ts';
import { contentDisposition, isInlineImage, MEDIA_SECURITY_HEADERS, safeContentType } from './contentHeaders.ts';
import { acceptSignedUpload, type SignedUploadRequest } from './directUpload.ts';
import { mediaNameFromPath } from './mediaName.ts';
import { isDatabaseUnreadable } from './problems.ts';

/** One read; a download holds two at most (the one being sent, the next). The first is most images whole. */
const STREAM_CHUNK_SIZE = 64 * 1024;

export interface MediaRequest {
  method: string;
  /** The request path, still percent-encoded. */
  rawPath: string;
  /** The query string without '?', for signed URLs. */
  rawQuery: string;
  headers: RequestHeaders;
  /** What a PUT to a signed upload URL needs: its type, its declared length and its body. */
  upload: Omit<SignedUploadRequest, 'name' | 'signedPath'>;
}

export interface MediaSource {
  storage: Storage;
  /** The path MEDIA_URL serves under, ending with '/'. */
  prefix: string;
  /** The models whose rows may record a file's content type. */
  models: readonly ModelClass[];
}

function mediaStatus(status: number, message: string, headers: Record<string, string> = {}): HttpAnswer {
  return textAnswer(status, message, { ...MEDIA_SECURITY_HEADERS, ...headers });
}

const notFound = (): HttpAnswer => mediaStatus(404, 'Not found.');


async function optional<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch {
    return undefined;
  }
}

/**
 * The content type recorded, at save time, by the row that refers to `name` in `storage`, if any row does.
 * The type was sniffed from the bytes then, so it is trusted over anything a client or a name suggests.
 * A lookup by name (indexed on every engine), not a walk through the rows.
 */
export async function recordedContentType(models: readonly ModelClass[], storage: Storage, name: string): Promise<string | undefined> {
  for (const model of models) {
    for (const [fieldName, field] of model.fileFields()) {
      if (field.storage !== storage) continue;
      const [match] = await model.objects.filter({ [fieldName]: name });
      const contentType = (match?.[fieldName as keyof typeof match] as FieldFile | undefined)?.metadata.contentType;
      if (contentType) return contentType;
    }
  }
  return undefined;
}

/** Without readable rows the file is still served, typed by its own bytes as a file no row knows would be. */
async function recordedContentTypeIfReadable(source: MediaSource, name: string): Promise<string | undefined> {
  try {
    return await recordedContentType(source.models, source.storage, name);
  } catch (error) {
    if (isDatabaseUnreadable(error)) return undefined;
    throw error;
  }
}

/**
 * Bytes [start, end] of the file, read forward in pieces so memory stays at one piece per download.
 * `head` is the start of a seekable file, read already: what it covers is not read again.
 */
async function* byteRange(file: File, start: number, end: number, head: Uint8Array): AsyncGenerator<Uint8Array> {
  if (file.seekable) {
    if (start < head.byteLength) {
      const covered = head.subarray(start, Math.min(end + 1, head.byteLength));
      yield covered;
      start += covered.byteLength;
      if (start > end) return;
    }
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

/** What a request asks for: a name of the storage (and whether its URL was signed), or the answer already. */
type Located = { name: string; signed: boolean } | { answer: HttpAnswer | Promise<HttpAnswer> };

/** The checks before any storage call but path(): method, name, signature, the project's own files, remote storages. */
function locate(request: MediaRequest, source: MediaSource): Located {
  const { storage } = source;
  // A local storage's signed upload URLs are media URLs too, answering a PUT.
  const acceptsUploads = storage.isLocal && storage.capabilities.uploadSigning;
  if (request.method !== 'GET' && request.method !== 'HEAD' && !(request.method === 'PUT' && acceptsUploads)) {
    return { answer: mediaStatus(405, 'Method not allowed.', { Allow: acceptsUploads ? 'GET, HEAD, PUT' : 'GET, HEAD' }) };
  }
  const name = mediaNameFromPath(request.rawPath, source.prefix);
  if (name === null) return { answer: notFound() };
  if (request.method === 'PUT') {
    return { answer: acceptSignedUpload({ ...request.upload, name, signedPath: `${request.rawPath}?${request.rawQuery}` }, storage) };
  }

  const query = request.rawQuery === '' ? null : new URLSearchParams(request.rawQuery);
  const signed = query !== null && (query.has('signature') || query.has('expires'));
  if (signed) {
    const check = verifySignedUrl(`${request.rawPath}?${request.rawQuery}`);
    if (!check.valid) return { answer: mediaStatus(403, check.reason === 'expired' ? 'This link has expired.' : 'This link is not valid.') };
  }

  if (!storage.isLocal) {
    // The storage serves its own files (S3, Azure…); its URL is where they are (never this very URL).
    const location = storage.url(name);
    if (new URL(location, 'http://media.invalid').pathname === request.rawPath) return { answer: notFound() };
    return { answer: { status: 302, headers: { Location: location, 'Cache-Control': 'no-store', 'Content-Length': '0' } } };
  }
  // MEDIA_ROOT set to the project's folder (or above it) must not publish the rows or the settings.
  if (isProjectFile(storage, name)) return { answer: notFound() };
  return { name, signed };
}

/** The answer to a request for a path under the source's prefix (the caller has checked that it is under it). */
export async function answerMedia(request: MediaRequest, source: MediaSource): Promise<HttpAnswer> {
  const located = locate(request, source);
  if ('answer' in located) return located.answer;
  const { name, signed } = located;
  const { storage } = source;

  let file: File;
  try {
    file = await storage.open(name);
  } catch {
    return notFound();
  }
  let streaming = false;
  try {
    const knownSize = file.sizeIfKnown;
    // Reading tells a file from a folder (which opens, but cannot be read). A small file is read whole here, once.
    const peeked = file.peekStart(file.seekable && knownSize !== undefined ? Math.max(1, Math.min(knownSize, STREAM_CHUNK_SIZE)) : 1)
      .catch(() => null);
    // Independent reads, at the same time: the request waits for the slowest, not for their sum.
    const [head, modified, recordedType, kept] = await Promise.all([
      peeked,
      // An open local file tells its own time (no second look-up by name); others are asked through the storage.
      file.modifiedTimeIfKnown ?? optional(() => storage.getModifiedTime(name)),
      recordedContentTypeIfReadable(source, name),
      // The object headers given at save time (read with the file where the backend does); the type
      // still goes through safeContentType().
      keptHeadersOf(file) ?? optional(() => storage.headers(name)),
    ]);
    if (head === null) return notFound();
    const size = knownSize ?? (await storage.size(name));
    const validators: Validators = { etag: etagOf(size, modified), lastModified: modified && toWholeSeconds(modified) };
    const contentType = safeContentType(recordedType ?? kept?.contentType
      ?? (head.byteLength === 0 ? 'application/octet-stream' : await sniffContentType(file)));
    const headers: Record<string, string> = {
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
      return { status: 304, headers: kept };
    }
    const range = ifRangeAllows(request.headers, validators) ? parseRange(request.headers.range, size) : { kind: 'whole' as const };
    if (range.kind === 'unsatisfiable') return mediaStatus(416, 'Range not satisfiable.', { 'Content-Range': `bytes */${size}` });
    const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, size - 1];
    headers['Content-Length'] = String(Math.max(0, end - start + 1));
    if (range.kind === 'partial') headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    const status = range.kind === 'partial' ? 206 : 200;
    if (request.method === 'HEAD' || size === 0) return { status, headers };
    streaming = true;
    let closed = false;
    return {
      status,
      headers,
      body: {
        chunks: byteRange(file, start, end, file.seekable ? head : new Uint8Array(0)),
        async close() {
          if (closed) return;
          closed = true;
          await file.close().catch(() => undefined);
        },
      },
    };
  } finally {
    if (!streaming) await file.close().catch(() => undefined);
  }
}
