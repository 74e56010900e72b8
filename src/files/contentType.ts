/**
 * The content type of stored bytes, sniffed from the bytes themselves (never from the name or what a
 * client claimed), so a server can send it without being tricked into rendering HTML.
 */
import type { File } from './File.ts';

/** file-type's signatures fit in this many bytes. */
const SNIFF_BYTES = 4100;

export const OCTET_STREAM = 'application/octet-stream';
export const PLAIN_TEXT = 'text/plain';

function looksLikeText(head: Uint8Array): boolean {
  if (head.includes(0)) return false;
  try {
    // stream: true tolerates a character cut in half at the end of the sample.
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
    return true;
  } catch {
    return false;
  }
}

let fileTypeModule: Promise<typeof import('file-type')> | undefined;

/** Imported on first use: file-type is slow to load, and most commands (a shell, a script) never sniff. */
function fileType(): Promise<typeof import('file-type')> {
  fileTypeModule ??= import('file-type');
  return fileTypeModule;
}

/** A MIME type for the file's bytes: a known binary format, else text/plain for UTF-8 text, else octet-stream. */
export async function sniffContentType(file: File): Promise<string> {
  const head = await file.peekStart(SNIFF_BYTES);
  if (head.byteLength === 0) return OCTET_STREAM;
  const { fileTypeFromBuffer } = await fileType();
  const detected = await fileTypeFromBuffer(head);
  if (detected) return detected.mime;
  return looksLikeText(head) ? PLAIN_TEXT : OCTET_STREAM;
}
