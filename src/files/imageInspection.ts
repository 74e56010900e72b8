/**
 * Decides whether some bytes are an image we accept, and how big it is, from the bytes alone.
 *
 * A name or a client-sent content type is whatever the uploader chose, so neither is consulted. Only the
 * start of the content is read (the header holds the dimensions), so inspecting a huge upload stays cheap.
 */
import { ValidationError } from '../errors.ts';

/**
 * The parsers, imported on the first inspection: together they are most of the library's import time,
 * which every start of the CLI (a shell, a script) would otherwise pay before doing anything.
 */
interface Parsers {
  fileTypeFromBuffer: typeof import('file-type').fileTypeFromBuffer;
  imageSize: typeof import('image-size').imageSize;
  SVG: typeof import('image-size/types/svg').SVG;
}
let parsers: Parsers | undefined;

async function loadParsers(): Promise<Parsers> {
  if (!parsers) {
    const [fileType, imageSizeModule, svg] = await Promise.all([import('file-type'), import('image-size'), import('image-size/types/svg')]);
    parsers = { fileTypeFromBuffer: fileType.fileTypeFromBuffer, imageSize: imageSizeModule.imageSize, SVG: svg.SVG };
  }
  return parsers;
}

/** The parsers, once inspectImage() has loaded them (everything below runs after it did). */
function loadedParsers(): Parsers {
  if (!parsers) throw new Error('The image parsers are not loaded yet.');
  return parsers;
}

export interface ImageInfo {
  /** 'png' | 'jpg' | 'gif' | 'webp' | 'bmp' | 'tif' | 'avif' | 'ico' | 'svg' */
  format: string;
  mime: string;
  /** With the dot: '.png', '.jpg', … */
  extension: string;
  width: number;
  height: number;
}

export interface InspectOptions {
  /** Raster formats to accept; defaults to DEFAULT_IMAGE_FORMATS. 'jpeg' and 'tiff' are accepted as aliases. */
  allowedFormats?: readonly string[];
  /** SVG can carry scripts, so it is refused unless this is true. */
  allowSvg?: boolean;
}

export const DEFAULT_IMAGE_FORMATS: readonly string[] = Object.freeze(['png', 'jpg', 'gif', 'webp', 'bmp', 'tif', 'avif', 'ico']);

/** Enough for every signature file-type knows and for the headers of nearly all images. */
const FIRST_READ_BYTES = 4 * 1024;
/** JPEG and TIFF may put megabytes of metadata (EXIF thumbnails, ICC profiles) before the size. */
const MAX_HEADER_BYTES = 16 * 1024 * 1024;
/** Pillow raises DecompressionBombError above twice its MAX_IMAGE_PIXELS (89478485); we refuse at the same point. */
export const MAX_IMAGE_PIXELS = 178_956_970;

/** Django's ImageField message; every refusal starts with it, then says what was found ("It is HTML, …"). */
export const INVALID_IMAGE_SENTENCE = 'Upload a valid image. The file you uploaded was either not an image or a corrupted image.';

interface RasterFormat {
  format: string;
  mime: string;
  extension: string;
  /** Used in messages: "is a PNG image", "looks like a PNG image". */
  description: string;
  /**
   * Whether the size always sits in the first few hundred bytes. When it does, reading more cannot fix a
   * failed parse, so a corrupt file is refused after the first read instead of after 16 MiB.
   */
  sizeAtFixedOffset: boolean;
  /** The `type` values image-size reports for this format; anything else means the two parsers disagree. */
  imageSizeTypes: readonly string[];
}

const RASTER_FORMATS: readonly RasterFormat[] = [
  { format: 'png', mime: 'image/png', extension: '.png', description: 'a PNG image', sizeAtFixedOffset: true, imageSizeTypes: ['png'] },
  { format: 'jpg', mime: 'image/jpeg', extension: '.jpg', description: 'a JPEG image', sizeAtFixedOffset: false, imageSizeTypes: ['jpg'] },
  { format: 'gif', mime: 'image/gif', extension: '.gif', description: 'a GIF image', sizeAtFixedOffset: true, imageSizeTypes: ['gif'] },
  { format: 'webp', mime: 'image/webp', extension: '.webp', description: 'a WebP image', sizeAtFixedOffset: true, imageSizeTypes: ['webp'] },
  { format: 'bmp', mime: 'image/bmp', extension: '.bmp', description: 'a BMP image', sizeAtFixedOffset: true, imageSizeTypes: ['bmp'] },
  { format: 'tif', mime: 'image/tiff', extension: '.tif', description: 'a TIFF image', sizeAtFixedOffset: false, imageSizeTypes: ['tiff', 'bigtiff'] },
  {
    format: 'avif',
    mime: 'image/avif',
    extension: '.avif',
    description: 'an AVIF image',
    sizeAtFixedOffset: false,
    // image-size reports the HEIF major brand, and AVIF encoders differ in which brand they put first.
    imageSizeTypes: ['avif', 'avis', 'mif1', 'msf1', 'heif'],
  },
  // An icon directory can list up to 65535 entries, so the largest one may lie beyond the first read.
  { format: 'ico', mime: 'image/x-icon', extension: '.ico', description: 'an ICO icon', sizeAtFixedOffset: false, imageSizeTypes: ['ico'] },
];

/** file-type's `ext` for each format we handle. APNG is a PNG to every decoder that does not animate it. */
const FORMAT_BY_FILE_TYPE_EXT: Readonly<Record<string, string>> = {
  png: 'png',
  apng: 'png',
  jpg: 'jpg',
  gif: 'gif',
  webp: 'webp',
  bmp: 'bmp',
  tif: 'tif',
  avif: 'avif',
  ico: 'ico',
};

const FORMAT_ALIASES: Readonly<Record<string, string>> = { jpeg: 'jpg', tiff: 'tif' };

/** Names for common non-image types, so a refusal says what the file really is. */
const DESCRIPTION_BY_FILE_TYPE_EXT: Readonly<Record<string, string>> = {
  pdf: 'a PDF document',
  zip: 'a ZIP archive',
  gz: 'a gzip archive',
  tar: 'a tar archive',
  '7z': 'a 7-Zip archive',
  rar: 'a RAR archive',
  exe: 'a Windows program',
  elf: 'a Linux program',
  mp4: 'an MP4 video',
  mov: 'a QuickTime video',
  webm: 'a WebM video',
  mp3: 'an MP3 audio file',
  wav: 'a WAV audio file',
  xml: 'an XML document',
  psd: 'a Photoshop document',
  heic: 'a HEIC image',
  jxl: 'a JPEG XL image',
  cur: 'a Windows cursor',
  docx: 'a Word document',
  xlsx: 'an Excel spreadsheet',
  sqlite: 'an SQLite database',
};

const SVG_INFO = { format: 'svg', mime: 'image/svg+xml', extension: '.svg' } as const;

/**
 * Inspects content through `readPrefix`, which must resolve to the first `length` bytes (fewer only at the
 * end of the content). Resolves to the image's type and size, or throws ValidationError saying what was found.
 */
export async function inspectImage(
  readPrefix: (length: number) => Promise<Uint8Array>,
  options: InspectOptions = {},
): Promise<ImageInfo> {
  const allowSvg = options.allowSvg === true;
  const allowedFormats = normalizeAllowedFormats(options.allowedFormats ?? DEFAULT_IMAGE_FORMATS);
  const allowedForMessages = allowSvg ? [...allowedFormats, 'svg'] : allowedFormats;

  const [head] = await Promise.all([readStandalonePrefix(readPrefix, FIRST_READ_BYTES), loadParsers()]);
  if (head.length === 0) {
    throw refusal('is empty.', 'empty', { found: 'empty' });
  }

  const markup = sniffMarkup(head);
  if (markup === 'html') {
    throw refusal('is HTML, not an image.', 'invalid_image', { found: 'html' });
  }
  if (markup === 'svg') {
    return inspectSvg(readPrefix, head, allowSvg);
  }

  const detected = await detectBinaryType(head);
  if (detected === undefined) {
    throw refusalOfUnrecognized(head);
  }
  const raster = rasterFormatOf(detected.ext);
  if (raster === undefined || !allowedFormats.includes(raster.format)) {
    throw refusalOfType(detected, raster, allowedForMessages);
  }
  return inspectRaster(readPrefix, head, raster);
}

function normalizeAllowedFormats(formats: readonly string[]): string[] {
  return formats.map((given) => {
    const lowered = given.toLowerCase().replace(/^\./, '');
    const format = FORMAT_ALIASES[lowered] ?? lowered;
    if (format === 'svg') {
      // One switch for SVG keeps "is SVG allowed here?" answerable by reading a single option.
      throw new Error("'svg' cannot be listed in allowedFormats; pass allowSvg: true to accept SVG.");
    }
    if (!RASTER_FORMATS.some((raster) => raster.format === format)) {
      const known = RASTER_FORMATS.map((raster) => raster.format).join(', ');
      throw new Error(`Unknown image format '${given}' in allowedFormats; known formats: ${known}.`);
    }
    return format;
  });
}

// ---------------------------------------------------------------------------------------------------------
// Reading

/**
 * Reads a prefix into a buffer of its own. image-size builds DataViews over `input.buffer` that run to the
 * end of the underlying ArrayBuffer, so a view into a larger (or pooled) buffer could be parsed past its end.
 */
async function readStandalonePrefix(
  readPrefix: (length: number) => Promise<Uint8Array>,
  length: number,
): Promise<Uint8Array> {
  const bytes = await readPrefix(length);
  const prefix = bytes.length > length ? bytes.subarray(0, length) : bytes;
  const ownsWholeBuffer = prefix.byteOffset === 0 && prefix.buffer.byteLength === prefix.length;
  return ownsWholeBuffer ? prefix : new Uint8Array(prefix);
}

/** What a header parser concluded from the bytes it was given. */
type Measurement = { width: number; height: number } | 'needs-more-bytes' | 'invalid';

/**
 * Runs `measure` on longer and longer prefixes (doubling from the first read) until it succeeds, gives up,
 * the content ends, or MAX_HEADER_BYTES is reached. Resolves to undefined when no size was found.
 */
async function measureProgressively(
  readPrefix: (length: number) => Promise<Uint8Array>,
  head: Uint8Array,
  measure: (bytes: Uint8Array) => Measurement,
): Promise<{ width: number; height: number } | undefined> {
  let bytes = head;
  let requested = FIRST_READ_BYTES;
  for (;;) {
    const measurement = measure(bytes);
    if (typeof measurement === 'object') {
      return measurement;
    }
    const reachedEnd = bytes.length < requested;
    if (measurement === 'invalid' || reachedEnd || requested >= MAX_HEADER_BYTES) {
      return undefined;
    }
    requested = Math.min(requested * 2, MAX_HEADER_BYTES);
    bytes = await readStandalonePrefix(readPrefix, requested);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Raster images

async function detectBinaryType(head: Uint8Array): Promise<{ ext: string; mime: string } | undefined> {
  try {
    return await loadedParsers().fileTypeFromBuffer(head);
  } catch {
    // A parser error on hostile bytes means "not recognized", never a crash of the upload.
    return undefined;
  }
}

function rasterFormatOf(fileTypeExt: string): RasterFormat | undefined {
  const format = FORMAT_BY_FILE_TYPE_EXT[fileTypeExt];
  return RASTER_FORMATS.find((raster) => raster.format === format);
}

async function inspectRaster(
  readPrefix: (length: number) => Promise<Uint8Array>,
  head: Uint8Array,
  raster: RasterFormat,
): Promise<ImageInfo> {
  const size = await measureProgressively(readPrefix, head, (bytes) => measureRaster(bytes, raster));
  if (size === undefined) {
    throw refusalOfCorrupt(raster);
  }
  if (size.width * size.height > MAX_IMAGE_PIXELS) {
    throw refusal(
      `is ${raster.description} of ${size.width}x${size.height} pixels, more than the limit of ` +
        `${MAX_IMAGE_PIXELS} pixels; such an image could exhaust memory when decoded (a decompression bomb).`,
      'image_too_large',
      { found: raster.format, width: size.width, height: size.height, limit: MAX_IMAGE_PIXELS },
    );
  }
  return { format: raster.format, mime: raster.mime, extension: raster.extension, ...size };
}

function measureRaster(bytes: Uint8Array, raster: RasterFormat): Measurement {
  const jpegStructure = raster.format === 'jpg' ? locateJpegFrameHeader(bytes) : undefined;
  if (jpegStructure === 'needs-more-bytes' || jpegStructure === 'invalid') {
    return jpegStructure;
  }
  // image-size throws the same kinds of errors for truncated and for broken data, so whether more bytes
  // could help is decided by what we know of the format.
  const failure = raster.sizeAtFixedOffset || jpegStructure === 'found' ? 'invalid' : 'needs-more-bytes';
  let size;
  try {
    size = loadedParsers().imageSize(bytes);
  } catch {
    return failure;
  }
  if (size.type === undefined || !raster.imageSizeTypes.includes(size.type)) {
    return 'invalid';
  }
  return hasPositiveDimensions(size) ? { width: size.width, height: size.height } : 'invalid';
}

/**
 * Follows the JPEG segment chain from SOI to the frame header (SOFn), without decoding anything.
 *
 * image-size steps one byte at a time through anything that is not a marker; fed megabytes of junk it blocks
 * the event loop for seconds. The JPEG standard (T.81, B.1.1.2) allows only 0xFF fill bytes between
 * segments, so anything else is refused here at once. (Pillow skips such junk; decoders warn about it.)
 */
function locateJpegFrameHeader(bytes: Uint8Array): 'found' | 'needs-more-bytes' | 'invalid' {
  let offset = 2; // after SOI
  while (offset + 4 <= bytes.length) {
    if (bytes[offset] !== 0xff) {
      return 'invalid';
    }
    const marker = bytes[offset + 1]!;
    if (marker === 0xff) {
      offset += 1;
      continue;
    }
    if (isStandaloneJpegMarker(marker)) {
      offset += 2;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) {
      return 'invalid'; // scan data (SOS) or the end (EOI) with no frame header before it
    }
    const segmentLength = (bytes[offset + 2]! << 8) | bytes[offset + 3]!; // counts its own two bytes
    if (segmentLength < 2) {
      return 'invalid';
    }
    const segmentEnd = offset + 2 + segmentLength;
    if (isJpegFrameHeader(marker)) {
      return segmentEnd <= bytes.length ? 'found' : 'needs-more-bytes';
    }
    offset = segmentEnd;
  }
  return 'needs-more-bytes';
}

/** TEM and RST0–RST7 carry no length. */
function isStandaloneJpegMarker(marker: number): boolean {
  return marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7);
}

/** SOF0–SOF15, less DHT (C4), JPG (C8) and DAC (CC), which share the range. */
function isJpegFrameHeader(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

function hasPositiveDimensions(size: { width?: number | undefined; height?: number | undefined }): size is { width: number; height: number } {
  return isPositiveInteger(size.width) && isPositiveInteger(size.height);
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

// ---------------------------------------------------------------------------------------------------------
// Markup: HTML and SVG are text, which file-type deliberately does not detect.

type Markup = 'html' | 'svg';

/**
 * Tag names that make browsers sniff content as HTML (WHATWG MIME Sniffing, "text/html" patterns), plus a few
 * more that only make sense in a page. Any of them as the first element means a browser may run it as a page.
 */
const HTML_ROOT_ELEMENTS = new Set([
  'html', 'head', 'body', 'script', 'iframe', 'h1', 'div', 'font', 'table', 'a', 'style', 'title', 'b', 'br', 'p',
  'meta', 'link', 'base', 'object', 'embed', 'img', 'form', 'frameset',
]);

interface FirstElement {
  /** Lower-cased local name (a namespace prefix such as `svg:` removed). */
  name: string;
  /** The whole start tag, or undefined when it does not end within the text. */
  startTag: string | undefined;
}

interface MarkupStart {
  htmlDoctype: boolean;
  firstElement: FirstElement | undefined;
}

function sniffMarkup(head: Uint8Array): Markup | undefined {
  const text = decodeText(head).trimStart();
  if (!text.startsWith('<')) {
    return undefined;
  }
  const start = readMarkupStart(text);
  if (start.htmlDoctype) {
    return 'html';
  }
  const name = start.firstElement?.name;
  if (name === 'svg') {
    return 'svg';
  }
  return name !== undefined && HTML_ROOT_ELEMENTS.has(name) ? 'html' : undefined;
}

/** Honours a UTF-16 byte order mark; everything else is read as UTF-8 (whose BOM the decoder drops). */
function decodeText(bytes: Uint8Array): string {
  const encoding = bytes[0] === 0xff && bytes[1] === 0xfe ? 'utf-16le' : bytes[0] === 0xfe && bytes[1] === 0xff ? 'utf-16be' : 'utf-8';
  return new TextDecoder(encoding).decode(bytes);
}

/** Skips the XML declaration, processing instructions, comments and doctype to reach the first element. */
function readMarkupStart(text: string): MarkupStart {
  let rest = text;
  let htmlDoctype = false;
  for (;;) {
    rest = rest.trimStart();
    const skipped = lengthOfPrologItem(rest);
    if (skipped === 'incomplete') {
      return { htmlDoctype, firstElement: undefined };
    }
    if (skipped === 0) {
      return { htmlDoctype, firstElement: readFirstElement(rest) };
    }
    htmlDoctype ||= /^<!doctype\s+html[\s>]/i.test(rest);
    rest = rest.slice(skipped);
  }
}

/** Length of the declaration, PI, comment or doctype at the start of `text`; 0 when there is none. */
function lengthOfPrologItem(text: string): number | 'incomplete' {
  const closerByOpener: ReadonlyArray<[string, string]> = [
    ['<?', '?>'],
    ['<!--', '-->'],
  ];
  for (const [opener, closer] of closerByOpener) {
    if (text.startsWith(opener)) {
      const end = text.indexOf(closer, opener.length);
      return end === -1 ? 'incomplete' : end + closer.length;
    }
  }
  if (/^<!doctype/i.test(text)) {
    // An internal subset in brackets may itself contain '>'.
    const doctype = /^<!doctype[^[>]*(?:\[[^\]]*\]\s*)?>/i.exec(text);
    return doctype === null ? 'incomplete' : doctype[0].length;
  }
  return 0;
}

function readFirstElement(text: string): FirstElement | undefined {
  const opening = /^<([A-Za-z_][\w.:-]*)/.exec(text);
  if (opening === null) {
    return undefined;
  }
  const qualifiedName = opening[1]!.toLowerCase();
  const name = qualifiedName.slice(qualifiedName.lastIndexOf(':') + 1);
  // Quoted attribute values may contain '>', so the tag ends at the first '>' outside quotes.
  const startTag = /^<[^\s/>]+(?:[^>"']|"[^"]*"|'[^']*')*>/.exec(text)?.[0];
  return { name, startTag };
}

async function inspectSvg(
  readPrefix: (length: number) => Promise<Uint8Array>,
  head: Uint8Array,
  allowSvg: boolean,
): Promise<ImageInfo> {
  if (!allowSvg) {
    throw refusal('is an SVG image; SVG is not allowed here.', 'svg_not_allowed', { found: 'svg' });
  }
  const size = await measureProgressively(readPrefix, head, measureSvg);
  if (size === undefined) {
    throw refusal('is an SVG image, but its width and height cannot be determined.', 'invalid_image', { found: 'svg' });
  }
  return { ...SVG_INFO, ...size };
}

function measureSvg(bytes: Uint8Array): Measurement {
  const element = readMarkupStart(decodeText(bytes).trimStart()).firstElement;
  if (element === undefined || element.startTag === undefined) {
    return 'needs-more-bytes';
  }
  return sizeFromSvgAttributes(element.startTag) ?? sizeFromViewBox(element.startTag) ?? 'invalid';
}

/** image-size understands width/height with units, and a viewBox written with single spaces. */
function sizeFromSvgAttributes(startTag: string): { width: number; height: number } | undefined {
  // Only the root's start tag is given, so an <svg> inside a leading comment cannot be measured instead.
  try {
    const size = loadedParsers().SVG.calculate(new TextEncoder().encode(startTag));
    return hasPositiveDimensions(size) ? { width: size.width, height: size.height } : undefined;
  } catch {
    return undefined;
  }
}

/** A viewBox may also separate its numbers with commas or several spaces, which image-size does not split. */
function sizeFromViewBox(startTag: string): { width: number; height: number } | undefined {
  const viewBox = /\sviewBox\s*=\s*(["'])([^"']*)\1/i.exec(startTag)?.[2];
  const numbers = viewBox?.trim().split(/[\s,]+/).map(Number);
  if (numbers?.length !== 4) {
    return undefined;
  }
  const size = { width: Math.round(numbers[2]!), height: Math.round(numbers[3]!) };
  return hasPositiveDimensions(size) ? size : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Refusals

function refusal(whatWasFound: string, code: string, params: Record<string, unknown>): ValidationError {
  return new ValidationError(`${INVALID_IMAGE_SENTENCE} It ${whatWasFound}`, { code, params });
}

function refusalOfCorrupt(raster: RasterFormat): ValidationError {
  return refusal(`looks like ${raster.description} but its data is corrupt or truncated.`, 'invalid_image', {
    found: raster.format,
  });
}

function refusalOfType(
  detected: { ext: string; mime: string },
  raster: RasterFormat | undefined,
  allowed: readonly string[],
): ValidationError {
  const description = raster?.description ?? describeFileType(detected);
  const code = detected.mime.startsWith('image/') ? 'image_type_not_allowed' : 'invalid_image';
  return refusal(
    `is ${description} (${detected.mime}), not an image of an allowed type (${allowed.join(', ')}).`,
    code,
    { found: raster?.format ?? detected.ext, mime: detected.mime, allowed: [...allowed] },
  );
}

function describeFileType({ ext, mime }: { ext: string; mime: string }): string {
  const known = DESCRIPTION_BY_FILE_TYPE_EXT[ext];
  if (known !== undefined) {
    return known;
  }
  const format = ext.toUpperCase();
  if (mime.startsWith('image/')) return `an image in ${format} format`;
  if (mime.startsWith('video/')) return `a video in ${format} format`;
  if (mime.startsWith('audio/')) return `an audio file in ${format} format`;
  return `a file in ${format} format`;
}

/** For bytes file-type could not place: a damaged image, plain text, or something unknown. */
function refusalOfUnrecognized(head: Uint8Array): ValidationError {
  const lookalike = rasterWithSignatureOf(head);
  if (lookalike !== undefined) {
    // file-type also validates the structure after a signature, so a broken file can fail it.
    return refusalOfCorrupt(lookalike);
  }
  if (looksLikeText(head)) {
    return refusal('is a text file, not an image.', 'invalid_image', { found: 'text' });
  }
  return refusal('is not an image: its content matches no known image format.', 'invalid_image', { found: 'unknown' });
}

/** Signatures long enough to be deliberate (BMP's "BM" and ICO's zeros are too short to mean anything alone). */
function rasterWithSignatureOf(bytes: Uint8Array): RasterFormat | undefined {
  const startsWith = (signature: readonly number[], offset = 0) =>
    signature.every((byte, index) => bytes[offset + index] === byte);
  const ascii = (text: string) => [...text].map((char) => char.charCodeAt(0));

  let format: string | undefined;
  if (startsWith([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) format = 'png';
  else if (startsWith([0xff, 0xd8, 0xff])) format = 'jpg';
  else if (startsWith(ascii('GIF87a')) || startsWith(ascii('GIF89a'))) format = 'gif';
  else if (startsWith(ascii('RIFF')) && startsWith(ascii('WEBP'), 8)) format = 'webp';
  else if (startsWith([0x49, 0x49, 0x2a, 0x00]) || startsWith([0x4d, 0x4d, 0x00, 0x2a])) format = 'tif';
  else if (startsWith(ascii('ftypavif'), 4) || startsWith(ascii('ftypavis'), 4)) format = 'avif';
  return RASTER_FORMATS.find((raster) => raster.format === format);
}

/** Valid UTF-8 (or BOM-marked UTF-16) without control characters other than whitespace and ESC. */
function looksLikeText(bytes: Uint8Array): boolean {
  const isUtf16 = (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff);
  let text: string;
  try {
    // `stream: true` tolerates a character cut in two at the end of the prefix.
    text = isUtf16 ? decodeText(bytes) : new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: true });
  } catch {
    return false;
  }
  return !/[\u0000-\u0008\u000e-\u001a\u001c-\u001f\u007f]/.test(text);
}
