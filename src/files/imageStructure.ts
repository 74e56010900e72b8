/**
 * Whether an image's bytes hold together to the end, as Pillow's verify() asks (Django's ImageField runs
 * it): PNG chunks and their CRCs through IEND, GIF blocks to the trailer, JPEG segments and scans to EOI,
 * WebP's RIFF chunks, BMP's pixel data, the boxes of an AVIF file, ICO's images, and for TIFF the first
 * IFD and what it points to (its offsets can lead anywhere: that much can be checked as the bytes stream).
 * Nothing is decoded: a walk over the structure, streamed, linear in time, bounded in memory.
 */
import { crc32 as nodeCrc32 } from 'node:zlib';
import { StructureError, type Need, type StructureParser, type WalkState } from './structureWalker.ts';

const u16be = (bytes: Uint8Array, at: number) => (bytes[at]! << 8) | bytes[at + 1]!;
const u32be = (bytes: Uint8Array, at: number) => ((bytes[at]! << 24) >>> 0) + (bytes[at + 1]! << 16) + (bytes[at + 2]! << 8) + bytes[at + 3]!;
const u16le = (bytes: Uint8Array, at: number) => bytes[at]! | (bytes[at + 1]! << 8);
const u32le = (bytes: Uint8Array, at: number) => (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16)) + ((bytes[at + 3]! << 24) >>> 0);
const i32le = (bytes: Uint8Array, at: number) => bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24);
const ascii = (bytes: Uint8Array, from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));

/** A byte as a message shows it: the character too when it is printable. */
function describeByte(byte: number): string {
  const hex = `0x${byte.toString(16).padStart(2, '0')}`;
  return byte >= 0x20 && byte < 0x7f ? `${JSON.stringify(String.fromCharCode(byte))} (${hex})` : hex;
}

function corrupt(format: string, what: string): StructureError {
  return new StructureError(`corrupt ${format}: ${what}`);
}

/** zlib.crc32 where Node has it (20.15+), else the same CRC-32 from a table. */
let crcTable: Uint32Array | undefined;
function crc32(bytes: Uint8Array, previous = 0): number {
  if (typeof nodeCrc32 === 'function') return nodeCrc32(bytes, previous);
  crcTable ??= Uint32Array.from({ length: 256 }, (_, index) => {
    let value = index;
    for (let bit = 0; bit < 8; bit++) value = value & 1 ? 0xedb88320 ^ (value >>> 1) : value >>> 1;
    return value >>> 0;
  });
  let crc = ~previous >>> 0;
  for (const byte of bytes) crc = crcTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function* png(state: WalkState): Generator<Need, void, Uint8Array> {
  state.inside = 'the signature';
  const signature = yield 8;
  if (!PNG_SIGNATURE.every((byte, index) => signature[index] === byte)) throw corrupt('PNG', 'no PNG signature');
  let sawData = false;
  for (let index = 0; ; index++) {
    state.inside = 'a chunk header';
    const header = yield 8;
    const length = u32be(header, 0);
    const type = ascii(header, 4, 8);
    if (!/^[A-Za-z]{4}$/.test(type)) {
      throw corrupt('PNG', `bytes that are not a chunk (${JSON.stringify(type)}) at byte ${state.position - 4}`);
    }
    if (length > 0x7fffffff) throw corrupt('PNG', `chunk ${type} declares ${length} bytes`);
    if (index === 0 && (type !== 'IHDR' || length !== 13)) throw corrupt('PNG', `the first chunk is ${type} of ${length} bytes, not IHDR of 13`);
    state.inside = type;
    let crc = crc32(header.subarray(4, 8));
    yield { skip: length, each: (piece) => (crc = crc32(piece, crc)) };
    state.inside = `the CRC of ${type}`;
    const stored = yield 4;
    if (u32be(stored, 0) !== crc) throw corrupt('PNG', `the CRC of ${type} does not match its data`);
    if (type === 'IDAT') sawData = true;
    if (type === 'IEND') {
      if (!sawData) throw corrupt('PNG', 'no IDAT chunk before IEND');
      return;
    }
  }
}

/**
 * A chain of data sub-blocks (a size byte, that many bytes, … up to a size of 0), passed over in one scan:
 * a chain of a million one-byte blocks costs a loop, not a million steps of the walk.
 */
function gifSubBlocks(): Need {
  let remaining = 0;
  return {
    scan: (piece) => {
      let at = 0;
      while (at < piece.byteLength) {
        if (remaining > 0) {
          const take = Math.min(remaining, piece.byteLength - at);
          at += take;
          remaining -= take;
        } else {
          const size = piece[at++]!;
          if (size === 0) return at;
          remaining = size;
        }
      }
      return 'more';
    },
  };
}

function* gif(state: WalkState): Generator<Need, void, Uint8Array> {
  state.inside = 'the header';
  const header = yield 13;
  const version = ascii(header, 0, 6);
  if (version !== 'GIF87a' && version !== 'GIF89a') throw corrupt('GIF', 'no GIF signature');
  const flags = header[10]!;
  state.inside = 'the global color table';
  if (flags & 0x80) yield { skip: 3 * 2 ** ((flags & 7) + 1) };
  let images = 0;
  for (;;) {
    state.inside = 'the block list';
    const [introducer] = yield 1;
    if (introducer === 0x3b) {
      if (images === 0) throw corrupt('GIF', 'the trailer comes before any image');
      return;
    }
    if (introducer === 0x21) {
      state.inside = 'an extension';
      yield 1; // its label
      yield gifSubBlocks();
    } else if (introducer === 0x2c) {
      state.inside = 'an image descriptor';
      const descriptor = yield 9;
      const localFlags = descriptor[8]!;
      state.inside = 'a local color table';
      if (localFlags & 0x80) yield { skip: 3 * 2 ** ((localFlags & 7) + 1) };
      state.inside = 'the image data';
      const [codeSize] = yield 1;
      if (codeSize! < 1 || codeSize! > 11) throw corrupt('GIF', `an LZW code size of ${codeSize} in image ${images + 1}`);
      yield gifSubBlocks();
      images++;
    } else {
      throw corrupt('GIF', `${describeByte(introducer!)} where a block starts, at byte ${state.position - 1}`);
    }
  }
}

/** RST0–RST7 and TEM carry no length. */
const isStandaloneJpegMarker = (marker: number) => marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7);
/** SOF0–SOF15, less DHT (C4), JPG (C8) and DAC (CC). */
const isJpegFrameHeader = (marker: number) => marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
/** In entropy-coded data, 0xFF is followed by 0x00 (a stuffed byte) or a restart marker: anything else ends the scan. */
const continuesScan = (byte: number) => byte === 0x00 || (byte >= 0xd0 && byte <= 0xd7);

function* jpeg(state: WalkState): Generator<Need, void, Uint8Array> {
  state.inside = 'the start marker';
  const start = yield 2;
  if (start[0] !== 0xff || start[1] !== 0xd8) throw corrupt('JPEG', 'no start-of-image marker');
  let frame = false;
  let scans = 0;
  /** The 0xFF of the marker after a scan, when the scan's last piece ended with it. */
  let markerStarted = false;
  for (;;) {
    state.inside = 'the segment list';
    if (!markerStarted) {
      const [byte] = yield 1;
      if (byte !== 0xff) throw corrupt('JPEG', `${describeByte(byte!)} where a marker belongs, at byte ${state.position - 1}`);
    }
    markerStarted = false;
    let marker = (yield 1)[0]!;
    while (marker === 0xff) marker = (yield 1)[0]!; // fill bytes
    if (marker === 0xd9) {
      if (scans === 0) throw corrupt('JPEG', 'the end-of-image marker comes before any image data');
      return;
    }
    if (isStandaloneJpegMarker(marker)) continue;
    if (marker === 0x00 || marker === 0xd8) throw corrupt('JPEG', `the marker 0xff${marker.toString(16).padStart(2, '0')} at byte ${state.position - 2}`);
    const name = marker === 0xda ? 'SOS' : isJpegFrameHeader(marker) ? 'SOF' : `0xff${marker.toString(16)}`;
    state.inside = `the ${name} segment`;
    const length = u16be(yield 2, 0);
    if (length < 2) throw corrupt('JPEG', `a ${name} segment of ${length} bytes`);
    if (isJpegFrameHeader(marker)) frame = true;
    if (marker === 0xda && !frame) throw corrupt('JPEG', 'a scan (SOS) before the frame header (SOF)');
    yield { skip: length - 2 };
    if (marker !== 0xda) continue;
    scans++;
    state.inside = 'the image data';
    let pendingFf = false;
    yield {
      scan: (piece) => {
        let from = 0;
        if (pendingFf) {
          pendingFf = false;
          if (!continuesScan(piece[0]!)) {
            markerStarted = true;
            return 0;
          }
          from = 1;
        }
        for (;;) {
          const ff = piece.indexOf(0xff, from);
          if (ff === -1) return 'more';
          if (ff === piece.byteLength - 1) {
            pendingFf = true;
            return 'more';
          }
          if (!continuesScan(piece[ff + 1]!)) return ff;
          from = ff + 2;
        }
      },
    };
  }
}

function* webp(state: WalkState): Generator<Need, void, Uint8Array> {
  state.inside = 'the RIFF header';
  const header = yield 12;
  if (ascii(header, 0, 4) !== 'RIFF' || ascii(header, 8, 12) !== 'WEBP') throw corrupt('WebP', 'no RIFF WEBP header');
  const riffEnd = 8 + u32le(header, 4);
  let image = false;
  for (let index = 0; state.position < riffEnd; index++) {
    state.inside = 'a chunk header';
    const chunk = yield 8;
    const fourcc = ascii(chunk, 0, 4);
    const size = u32le(chunk, 4);
    if (!/^[A-Za-z0-9 ]{4}$/.test(fourcc)) throw corrupt('WebP', `bytes that are not a chunk (${JSON.stringify(fourcc)}) at byte ${state.position - 8}`);
    if (state.position + size > riffEnd) throw corrupt('WebP', `chunk ${fourcc.trim()} runs past the end the RIFF header gives`);
    if (index === 0 && !['VP8 ', 'VP8L', 'VP8X'].includes(fourcc)) throw corrupt('WebP', `the first chunk is ${fourcc.trim()}, not VP8, VP8L or VP8X`);
    state.inside = fourcc.trim();
    let seen = 0;
    if (fourcc === 'VP8 ' || fourcc === 'VP8L') {
      const start = yield Math.min(size, 10);
      seen = start.byteLength;
      const valid = fourcc === 'VP8L' ? start[0] === 0x2f : start[3] === 0x9d && start[4] === 0x01 && start[5] === 0x2a;
      if (!valid) throw corrupt('WebP', `the ${fourcc.trim()} chunk has no ${fourcc === 'VP8L' ? 'VP8L signature' : 'key frame start code'}`);
      image = true;
    }
    if (fourcc === 'ANMF') image = true;
    const padding = size % 2 === 1 && state.position + (size - seen) < riffEnd ? 1 : 0;
    yield { skip: size - seen + padding };
  }
  if (!image) throw corrupt('WebP', 'no image data (no VP8, VP8L or ANMF chunk)');
}

function* bmp(state: WalkState): Generator<Need, void, Uint8Array> {
  state.inside = 'the file header';
  const file = yield 14;
  if (ascii(file, 0, 2) !== 'BM') throw corrupt('BMP', 'no BM signature');
  const dataOffset = u32le(file, 10);
  state.inside = 'the bitmap header';
  const headerSize = u32le(yield 4, 0);
  if (headerSize < 12 || headerSize > 1024) throw corrupt('BMP', `a bitmap header of ${headerSize} bytes`);
  const info = yield headerSize - 4;
  const core = headerSize === 12;
  const width = core ? u16le(info, 0) : i32le(info, 0);
  const height = Math.abs(core ? u16le(info, 2) : i32le(info, 4));
  const bitsPerPixel = core ? u16le(info, 6) : u16le(info, 10);
  const compression = core ? 0 : u32le(info, 12);
  const imageSize = core ? 0 : u32le(info, 16);
  if (width <= 0 || height <= 0 || ![1, 2, 4, 8, 16, 24, 32, 64].includes(bitsPerPixel)) {
    throw corrupt('BMP', `${width}x${height} pixels of ${bitsPerPixel} bits`);
  }
  if (dataOffset < 14 + headerSize) throw corrupt('BMP', `the pixel data starts at byte ${dataOffset}, inside the headers`);
  // Uncompressed rows are padded to 4 bytes; compressed data says its own size.
  const uncompressed = compression === 0 || compression === 3 || compression === 6;
  const dataSize = uncompressed ? Math.floor((bitsPerPixel * width + 31) / 32) * 4 * height : Math.max(imageSize, 1);
  state.inside = 'the color table';
  yield { skip: dataOffset - (14 + headerSize) };
  state.inside = 'the pixel data';
  yield { skip: dataSize };
}

const TIFF_TYPE_SIZES: Readonly<Record<number, number>> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8 };
const TIFF_DATA_OFFSETS = new Set([273, 324]); // StripOffsets, TileOffsets
const TIFF_DATA_COUNTS = new Set([279, 325]); // StripByteCounts, TileByteCounts

function* tiff(state: WalkState): Generator<Need, void, Uint8Array> {
  state.inside = 'the header';
  const header = yield 8;
  const order = ascii(header, 0, 2);
  if (order !== 'II' && order !== 'MM') throw corrupt('TIFF', 'no byte order mark');
  const le = order === 'II';
  const u16 = (bytes: Uint8Array, at: number) => (le ? u16le(bytes, at) : u16be(bytes, at));
  const u32 = (bytes: Uint8Array, at: number) => (le ? u32le(bytes, at) : u32be(bytes, at));
  if (u16(header, 2) !== 42) throw corrupt('TIFF', 'not a classic TIFF (no 42 after the byte order)');
  const ifdOffset = u32(header, 4);
  if (ifdOffset < 8) throw corrupt('TIFF', `the first IFD is at byte ${ifdOffset}, inside the header`);
  state.inside = 'the data before the first IFD';
  yield { skip: ifdOffset - 8 };
  state.inside = 'the first IFD';
  const count = u16(yield 2, 0);
  if (count === 0) throw corrupt('TIFF', 'the first IFD is empty');
  const entries = yield count * 12 + 4;
  let needed = 0;
  let dataOffset: number | undefined;
  let dataCount: number | undefined;
  let hasData = false;
  for (let index = 0; index < count; index++) {
    const at = index * 12;
    const tag = u16(entries, at);
    const type = u16(entries, at + 2);
    const values = u32(entries, at + 4);
    const size = (TIFF_TYPE_SIZES[type] ?? 1) * values;
    const inline = size <= 4;
    const value = type === 3 ? u16(entries, at + 8) : u32(entries, at + 8);
    if (!inline) needed = Math.max(needed, u32(entries, at + 8) + size);
    if (TIFF_DATA_OFFSETS.has(tag)) {
      hasData = true;
      if (inline && values === 1) dataOffset = value;
    }
    if (TIFF_DATA_COUNTS.has(tag) && inline && values === 1) dataCount = value;
  }
  if (!hasData) throw corrupt('TIFF', 'the first IFD points to no image data (no StripOffsets or TileOffsets)');
  if (dataOffset !== undefined && dataCount !== undefined) needed = Math.max(needed, dataOffset + dataCount);
  state.inside = 'the data the first IFD points to';
  if (needed > state.position) yield { skip: needed - state.position };
}

function* isobmff(state: WalkState): Generator<Need, void, Uint8Array> {
  const seen = new Set<string>();
  state.checkEnd = () => {
    if (!seen.has('meta')) throw corrupt('AVIF', 'no meta box');
  };
  for (let index = 0; ; index++) {
    state.inside = 'a box header';
    state.endable = index > 0;
    const header = yield 8;
    state.endable = false;
    let size = u32be(header, 0);
    const type = ascii(header, 4, 8);
    if (!/^[A-Za-z0-9 ]{4}$/.test(type)) throw corrupt('AVIF', `bytes that are not a box (${JSON.stringify(type)}) at byte ${state.position - 4}`);
    if (index === 0 && type !== 'ftyp') throw corrupt('AVIF', `the first box is ${type}, not ftyp`);
    seen.add(type);
    state.inside = `the ${type} box`;
    let headerLength = 8;
    if (size === 1) {
      const large = yield 8;
      size = u32be(large, 0) * 2 ** 32 + u32be(large, 4);
      headerLength = 16;
    } else if (size === 0) {
      // The box runs to the end of the file.
      state.endable = true;
      yield { scan: () => 'more' };
      return;
    }
    if (size < headerLength) throw corrupt('AVIF', `a ${type} box of ${size} bytes`);
    yield { skip: size - headerLength };
  }
}

function* ico(state: WalkState): Generator<Need, void, Uint8Array> {
  state.inside = 'the header';
  const header = yield 6;
  const count = u16le(header, 4);
  if (u16le(header, 0) !== 0 || u16le(header, 2) !== 1 || count === 0) throw corrupt('ICO', 'no icon directory');
  state.inside = 'the icon directory';
  const directory = yield count * 16;
  const images = Array.from({ length: count }, (_, index) => ({ size: u32le(directory, index * 16 + 8), offset: u32le(directory, index * 16 + 12) }))
    .sort((a, b) => a.offset - b.offset);
  for (const [index, image] of images.entries()) {
    if (image.offset < state.position) throw corrupt('ICO', `image ${index + 1} starts at byte ${image.offset}, inside the directory or another image`);
    if (image.size < 8) throw corrupt('ICO', `image ${index + 1} is ${image.size} bytes`);
    state.inside = `the data before image ${index + 1}`;
    yield { skip: image.offset - state.position };
    state.inside = `image ${index + 1}`;
    const start = yield 8;
    const isPng = PNG_SIGNATURE.every((byte, at) => start[at] === byte);
    if (!isPng && u32le(start, 0) !== 40) throw corrupt('ICO', `image ${index + 1} is neither a PNG nor a bitmap`);
    yield { skip: image.size - 8 };
  }
}

/** The parser of each raster format (by ImageInfo.format), and the name messages give it. */
export const STRUCTURE_PARSERS: Readonly<Record<string, { parse: StructureParser; name: string }>> = {
  png: { parse: png, name: 'PNG' },
  gif: { parse: gif, name: 'GIF' },
  jpg: { parse: jpeg, name: 'JPEG' },
  webp: { parse: webp, name: 'WebP' },
  bmp: { parse: bmp, name: 'BMP' },
  tif: { parse: tiff, name: 'TIFF' },
  avif: { parse: isobmff, name: 'AVIF' },
  ico: { parse: ico, name: 'ICO' },
};
