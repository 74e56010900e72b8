/**
 * Conditional and partial requests (RFC 9110 §13 and §14): validators, 304 decisions and single byte ranges.
 */
/** The request headers these decisions read (lower-case names), from a Node request or a web Request alike. */
export interface RequestHeaders {
  range?: string;
  'if-none-match'?: string;
  'if-modified-since'?: string;
  'if-range'?: string;
}

export const CONDITIONAL_HEADER_NAMES = ['range', 'if-none-match', 'if-modified-since', 'if-range'] as const;

export interface Validators {
  etag: string | undefined;
  /** Whole seconds: HTTP dates have no finer resolution, so comparisons must not see milliseconds. */
  lastModified: Date | undefined;
}

/** A strong ETag from size and modification time: stored files are replaced whole, never edited in place. */
export function etagOf(size: number, modified: Date | undefined): string {
  const time = modified ? Math.floor(modified.getTime()).toString(16) : '0';
  return `"${size.toString(16)}-${time}"`;
}

export function toWholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

function opaqueTag(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}

function entityTags(header: string): string[] {
  return header.match(/(?:W\/)?"[^"]*"|\*/g) ?? [];
}

function parseHttpDate(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : time;
}

/**
 * Whether a GET/HEAD may be answered 304. If-None-Match wins over If-Modified-Since when both are sent
 * (RFC 9110 §13.2.2); tags compare weakly, as that section asks for this header.
 */
export function isNotModified(headers: RequestHeaders, validators: Validators): boolean {
  const ifNoneMatch = headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    if (validators.etag === undefined) return false;
    const wanted = opaqueTag(validators.etag);
    return entityTags(ifNoneMatch).some((tag) => tag === '*' || opaqueTag(tag) === wanted);
  }
  const since = parseHttpDate(headers['if-modified-since']);
  if (since === undefined || validators.lastModified === undefined) return false;
  return validators.lastModified.getTime() <= since;
}

/** Whether a Range may be honoured: without If-Range always; with it only if the validator still matches (strongly). */
export function ifRangeAllows(headers: RequestHeaders, validators: Validators): boolean {
  const ifRange = headers['if-range'];
  if (ifRange === undefined) return true;
  const trimmed = ifRange.trim();
  if (trimmed.startsWith('"') || trimmed.startsWith('W/')) {
    return !trimmed.startsWith('W/') && validators.etag !== undefined && trimmed === validators.etag;
  }
  const date = parseHttpDate(trimmed);
  return date !== undefined && validators.lastModified !== undefined && validators.lastModified.getTime() === date;
}

export type RangeRequest =
  | { kind: 'whole' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' };

/** More digits than this cannot be a position in any file we could hold; such values are clamped. */
const MAX_DIGITS = 15;

/**
 * A `Range` header against a representation of `size` bytes. One range only: a header with several, or
 * one that does not parse, is ignored (the whole file is sent), which RFC 9110 §14.2 allows.
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'whole' };
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match) return { kind: 'whole' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'whole' };
  if (first === '') {
    // A suffix: the last N bytes.
    const length = last.length > MAX_DIGITS ? Number.MAX_SAFE_INTEGER : Number(last);
    if (length === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - length), end: size - 1 };
  }
  if (first.length > MAX_DIGITS) return { kind: 'unsatisfiable' };
  const start = Number(first);
  const end = last === '' || last.length > MAX_DIGITS ? size - 1 : Number(last);
  if (last !== '' && last.length <= MAX_DIGITS && end < start) return { kind: 'whole' }; // invalid: ignored
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: Math.min(end, size - 1) };
}
