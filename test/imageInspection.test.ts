import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_IMAGE_FORMATS, inspectImage, type InspectOptions } from '../src/files/imageInspection.ts';
import { ValidationError } from '../src/errors.ts';
import { verifyImageStructure } from '../src/files/imageVerification.ts';
import { crc32 } from 'node:zlib';

const fixturesDir = fileURLToPath(new URL('../fixtures/', import.meta.url));

function fixture(name: string): Buffer {
  return readFileSync(fixturesDir + name);
}

/** A readPrefix over bytes in memory that records every length asked for. */
function recordingReader(bytes: Uint8Array): { readPrefix: (length: number) => Promise<Uint8Array>; requests: number[] } {
  const requests: number[] = [];
  const readPrefix = async (length: number) => {
    requests.push(length);
    return bytes.subarray(0, length);
  };
  return { readPrefix, requests };
}

/**
 * A readPrefix over `totalSize` bytes of which only the requested prefix is ever built: `header`, then
 * whatever `fillRest` writes after it (zeros by default).
 */
function virtualReader(
  header: Uint8Array,
  totalSize: number,
  fillRest: (prefix: Uint8Array, from: number) => void = () => {},
): { readPrefix: (length: number) => Promise<Uint8Array>; requests: number[] } {
  const requests: number[] = [];
  const readPrefix = async (length: number) => {
    requests.push(length);
    const prefix = new Uint8Array(Math.min(length, totalSize));
    prefix.set(header.subarray(0, prefix.length));
    fillRest(prefix, header.length);
    return prefix;
  };
  return { readPrefix, requests };
}

function inspectBytes(bytes: Uint8Array, options?: InspectOptions) {
  return inspectImage(recordingReader(bytes).readPrefix, options);
}

async function assertRefused(bytes: Uint8Array, expected: { code: string; message: string | RegExp }, options?: InspectOptions) {
  await assert.rejects(inspectBytes(bytes, options), (error: unknown) => {
    assert.ok(error instanceof ValidationError, `expected a ValidationError, got ${String(error)}`);
    assert.equal(error.code, expected.code);
    if (typeof expected.message === 'string') {
      assert.equal(error.message, expected.message);
    } else {
      assert.match(error.message, expected.message);
    }
    return true;
  });
}

const realImages = [
  { file: 'image.png', format: 'png', mime: 'image/png', extension: '.png', width: 64, height: 48 },
  { file: '4x8.png', format: 'png', mime: 'image/png', extension: '.png', width: 4, height: 8 },
  { file: '8x4.png', format: 'png', mime: 'image/png', extension: '.png', width: 8, height: 4 },
  { file: 'image.jpg', format: 'jpg', mime: 'image/jpeg', extension: '.jpg', width: 64, height: 48 },
  { file: 'image.gif', format: 'gif', mime: 'image/gif', extension: '.gif', width: 64, height: 48 },
  { file: 'image.webp', format: 'webp', mime: 'image/webp', extension: '.webp', width: 64, height: 48 },
  { file: 'image.bmp', format: 'bmp', mime: 'image/bmp', extension: '.bmp', width: 64, height: 48 },
  { file: 'image.tif', format: 'tif', mime: 'image/tiff', extension: '.tif', width: 64, height: 48 },
  { file: 'image.ico', format: 'ico', mime: 'image/x-icon', extension: '.ico', width: 64, height: 48 },
  { file: 'image.avif', format: 'avif', mime: 'image/avif', extension: '.avif', width: 64, height: 48 },
];

for (const { file, ...expected } of realImages) {
  test(`${file} is recognized as ${expected.format} ${expected.width}x${expected.height}`, async () => {
    assert.deepEqual(await inspectBytes(fixture(file)), expected);
  });
}

test('DEFAULT_IMAGE_FORMATS lists the raster formats and not SVG', () => {
  assert.deepEqual([...DEFAULT_IMAGE_FORMATS], ['png', 'jpg', 'gif', 'webp', 'bmp', 'tif', 'avif', 'ico']);
});

test('an empty file is refused as empty', async () => {
  await assertRefused(fixture('empty.png'), { code: 'empty', message: 'Upload a valid image. The file you uploaded was either not an image or a corrupted image. It is empty.' });
});

test('an HTML page named .png is refused as HTML', async () => {
  await assertRefused(fixture('html-posing.png'), {
    code: 'invalid_image',
    message: 'Upload a valid image. The file you uploaded was either not an image or a corrupted image. It is HTML, not an image.',
  });
});

test('HTML is recognized after a BOM and whitespace, by its first tag or its doctype', async () => {
  const variants = [
    '\uFEFF  \n<script>alert(1)</script>',
    '<HTML><body>hi</body></HTML>',
    '<!-- a comment first -->\n<iframe src="https://example.com"></iframe>',
    '<?xml version="1.0"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "x">\n<html xmlns="http://www.w3.org/1999/xhtml"></html>',
  ];
  for (const html of variants) {
    await assertRefused(new TextEncoder().encode(html), { code: 'invalid_image', message: /is HTML, not an image\.$/ });
  }
});

test('SVG is refused unless allowed', async () => {
  for (const file of ['plain.svg', 'script.svg']) {
    await assertRefused(fixture(file), {
      code: 'svg_not_allowed',
      message: 'Upload a valid image. The file you uploaded was either not an image or a corrupted image. It is an SVG image; SVG is not allowed here.',
    });
  }
});

test('with allowSvg an SVG is measured from its width and height attributes', async () => {
  assert.deepEqual(await inspectBytes(fixture('plain.svg'), { allowSvg: true }), {
    format: 'svg',
    mime: 'image/svg+xml',
    extension: '.svg',
    width: 120,
    height: 80,
  });
  // allowSvg does not sanitize: scripts inside are the caller's to deal with (serve SVG as an attachment).
  const scripted = await inspectBytes(fixture('script.svg'), { allowSvg: true });
  assert.equal(scripted.format, 'svg');
  assert.deepEqual([scripted.width, scripted.height], [120, 80]);
});

test('with allowSvg an SVG without sizes falls back to its viewBox, however it is separated', async () => {
  const svg = '<?xml version="1.0"?>\n<!-- <svg width="1" height="1"> in a comment is not the root -->\n' +
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0,0, 300  150"><rect/></svg>';
  const info = await inspectBytes(new TextEncoder().encode(svg), { allowSvg: true });
  assert.deepEqual([info.width, info.height], [300, 150]);
});

test('with allowSvg an SVG whose size cannot be determined is refused', async () => {
  await assertRefused(
    new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"><rect width="5" height="5"/></svg>'),
    { code: 'invalid_image', message: /is an SVG image, but its width and height cannot be determined\.$/ },
    { allowSvg: true },
  );
});

test('a PNG signature followed by junk is refused as a corrupt PNG', async () => {
  await assertRefused(fixture('png-junk.png'), {
    code: 'invalid_image',
    message: 'Upload a valid image. The file you uploaded was either not an image or a corrupted image. It looks like a PNG image but its data is corrupt or truncated.',
  });
});

test('a PNG declaring a width of 0 is refused as corrupt', async () => {
  const zeroWidth = Buffer.from(fixture('image.png'));
  zeroWidth.writeUInt32BE(0, 16); // IHDR width
  await assertRefused(zeroWidth, { code: 'invalid_image', message: /looks like a PNG image but its data is corrupt or truncated\.$/ });
});

test('a JPEG cut off before its size is refused as corrupt', async () => {
  await assertRefused(fixture('image.jpg').subarray(0, 100), {
    code: 'invalid_image',
    message: /looks like a JPEG image but its data is corrupt or truncated\.$/,
  });
});

test('text files are refused as text, whatever their name', async () => {
  for (const file of ['notes.txt', 'résumé café.txt']) {
    await assertRefused(fixture(file), {
      code: 'invalid_image',
      message: 'Upload a valid image. The file you uploaded was either not an image or a corrupted image. It is a text file, not an image.',
    });
  }
});

test('a PDF is refused saying it is a PDF', async () => {
  const pdf = new TextEncoder().encode('%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n');
  await assertRefused(pdf, {
    code: 'invalid_image',
    message:
      'Upload a valid image. The file you uploaded was either not an image or a corrupted image. It is a PDF document (application/pdf), not an image of an allowed type ' +
      '(png, jpg, gif, webp, bmp, tif, avif, ico).',
  });
});

test('unrecognizable binary data is refused', async () => {
  const noise = Uint8Array.from({ length: 512 }, (_, index) => (index * 151 + 7) % 256);
  await assertRefused(noise, { code: 'invalid_image', message: /is not an image: its content matches no known image format\.$/ });
});

test('an image of a type not in allowedFormats is refused with image_type_not_allowed', async () => {
  await assertRefused(
    fixture('image.jpg'),
    {
      code: 'image_type_not_allowed',
      message: 'Upload a valid image. The file you uploaded was either not an image or a corrupted image. It is a JPEG image (image/jpeg), not an image of an allowed type (png, gif).',
    },
    { allowedFormats: ['png', 'gif'] },
  );
});

test('allowedFormats accepts jpeg and tiff as aliases and rejects unknown names', async () => {
  const info = await inspectBytes(fixture('image.jpg'), { allowedFormats: ['JPEG', 'tiff'] });
  assert.equal(info.format, 'jpg');
  await assert.rejects(inspectBytes(fixture('image.png'), { allowedFormats: ['png', 'heif'] }), /Unknown image format 'heif'/);
  await assert.rejects(inspectBytes(fixture('plain.svg'), { allowedFormats: ['svg'] }), /pass allowSvg: true/);
});

test('absurd dimensions are refused as a possible decompression bomb', async () => {
  const huge = Buffer.from(fixture('image.png'));
  huge.writeUInt32BE(20_000, 16); // IHDR width
  huge.writeUInt32BE(20_000, 20); // IHDR height: 400 million pixels
  await assertRefused(huge, {
    code: 'image_too_large',
    message: /is a PNG image of 20000x20000 pixels, more than the limit of 178956970 pixels/,
  });
});

/** image.jpg with APP2 segments of the largest size a segment can have inserted right after SOI. */
function jpegWithBigMetadata(segmentCount: number): Uint8Array {
  const jpeg = fixture('image.jpg');
  const maxSegmentLength = 0xffff; // counts its own two length bytes
  const segment = Buffer.alloc(2 + maxSegmentLength);
  segment.writeUInt16BE(0xffe2, 0);
  segment.writeUInt16BE(maxSegmentLength, 2);
  const segments = Array.from({ length: segmentCount }, () => segment);
  return Buffer.concat([jpeg.subarray(0, 2), ...segments, jpeg.subarray(2)]);
}

test('a JPEG whose SOF comes after more than 64 KiB of APP segments still gets its size', async () => {
  const jpeg = jpegWithBigMetadata(2);
  assert.ok(jpeg.length > 128 * 1024);
  const { readPrefix, requests } = recordingReader(jpeg);

  const info = await inspectImage(readPrefix);

  assert.deepEqual([info.format, info.width, info.height], ['jpg', 64, 48]);
  assert.equal(requests[0], 4096, 'starts with a small read');
  assert.ok(requests.length > 1, 'reads again when the header is longer');
  assert.ok(Math.max(...requests) <= 256 * 1024, `asked for ${Math.max(...requests)} bytes`);
});

test('a 50 MB PNG is inspected from its first few KiB', async () => {
  const pngHeader = fixture('image.png').subarray(0, 33); // signature + IHDR chunk
  const { readPrefix, requests } = virtualReader(pngHeader, 50 * 1024 * 1024);

  const info = await inspectImage(readPrefix);

  assert.deepEqual([info.format, info.width, info.height], ['png', 64, 48]);
  assert.ok(Math.max(...requests) <= 4096, `asked for ${Math.max(...requests)} bytes`);
});

const JFIF_START = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, ...Buffer.from('JFIF\0'), 1, 1, 0, 0, 1, 0, 1, 0, 0]);

test('a 50 MB JPEG made only of metadata segments is refused after reading at most 16 MiB', async () => {
  const writeEmptyApp2Segments = (prefix: Uint8Array, from: number) => {
    for (let offset = from; offset < prefix.length; offset += 4) {
      prefix.set([0xff, 0xe2, 0x00, 0x02].slice(0, prefix.length - offset), offset);
    }
  };
  const { readPrefix, requests } = virtualReader(JFIF_START, 50 * 1024 * 1024, writeEmptyApp2Segments);

  await assert.rejects(inspectImage(readPrefix), (error: unknown) => {
    assert.ok(error instanceof ValidationError);
    assert.match(error.message, /looks like a JPEG image but its data is corrupt or truncated\.$/);
    return true;
  });
  assert.equal(Math.max(...requests), 16 * 1024 * 1024);
});

test('a 50 MB JPEG whose segments are followed by junk is refused after the first read', async () => {
  const { readPrefix, requests } = virtualReader(JFIF_START, 50 * 1024 * 1024);

  await assert.rejects(inspectImage(readPrefix), /looks like a JPEG image but its data is corrupt or truncated\.$/);
  assert.deepEqual(requests, [4096]);
});

test('a readPrefix that resolves to a view into a larger buffer is read only within the view', async () => {
  const png = fixture('4x8.png');
  const padded = new Uint8Array(png.length + 100);
  padded.set(png, 50);
  const view = padded.subarray(50, 50 + png.length);
  const info = await inspectImage(async () => view);
  assert.deepEqual([info.width, info.height], [4, 8]);
});

// The whole-file structure check an ImageField runs as the bytes stream (imageVerification.ts).

async function* inPieces(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.byteLength; offset += size) yield bytes.subarray(offset, offset + size);
}

test('verifyImageStructure: every fixture holds together, however its bytes are split', async () => {
  for (const { file, format } of realImages) {
    for (const size of [1, 7, 4096, 65536]) await verifyImageStructure(format, inPieces(fixture(file), size));
  }
});

test('verifyImageStructure: every fixture cut anywhere is refused with the Django sentence, then what was found', async () => {
  for (const { file, format } of realImages) {
    const bytes = fixture(file);
    for (const fraction of [0.1, 0.25, 0.5, 0.75, 0.9, 0.99]) {
      const cut = Math.max(1, Math.floor(bytes.byteLength * fraction));
      await assert.rejects(verifyImageStructure(format, inPieces(bytes.subarray(0, cut), 97)), (error: unknown) => {
        assert.ok(error instanceof ValidationError, String(error));
        assert.equal(error.code, 'invalid_image');
        assert.match(error.message, /^Upload a valid image\. The file you uploaded was either not an image or a corrupted image\. It is a (truncated|corrupt) [A-Za-z]+: .+\.$/);
        return true;
      }, `${file} cut at ${cut} of ${bytes.byteLength}`);
    }
  }
});

test('verifyImageStructure: a PNG of millions of empty chunks is refused after a bounded number of steps', async () => {
  const png = fixture('image.png');
  const empty = Buffer.from([0, 0, 0, 0, 0x74, 0x45, 0x58, 0x74, 0, 0, 0, 0]);
  empty.writeUInt32BE(crc32(empty.subarray(4, 8)), 8);
  const chunks = Buffer.alloc(empty.byteLength * 1_500_000);
  for (let offset = 0; offset < chunks.byteLength; offset += empty.byteLength) empty.copy(chunks, offset);
  await assert.rejects(
    verifyImageStructure('png', inPieces(Buffer.concat([png.subarray(0, 33), chunks, png.subarray(33)]), 1 << 20)),
    /It is a corrupt PNG: more than 1000000 parts\.$/,
  );
});
