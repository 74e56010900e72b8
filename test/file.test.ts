// File and ContentFile over every kind of source, through the public API, with real files.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ContentFile, DEFAULT_CHUNK_SIZE, File, ImageFile, ValidationError } from '../src/index.ts';
import { rssSampler } from './support/conformance.ts';

const MiB = 1024 * 1024;
const DIGITS = '0123456789';
const decoder = new TextDecoder();
const UNKNOWN_SIZE = "Unable to determine the file's size.";
const CANNOT_REOPEN = 'The file cannot be reopened.';

let dir: string;
let digitsPath: string;

before(() => {
  dir = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), 'filefield-file-')));
  digitsPath = join(dir, 'digits.txt');
  fs.writeFileSync(digitsPath, DIGITS);
});

after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function textOf(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

async function collect(iterable: AsyncIterable<Uint8Array>): Promise<string[]> {
  const pieces: string[] = [];
  for await (const piece of iterable) pieces.push(textOf(piece));
  return pieces;
}

/** A Readable of the given pieces whose length nobody can know in advance. */
function generated(pieces: readonly string[]): Readable {
  return Readable.from(pieces.map((piece) => Buffer.from(piece)), { objectMode: false });
}

/** Every kind of source File wraps, each over "0123456789". */
interface SourceKind {
  label: string;
  seekable: boolean;
  make: () => Promise<File>;
}

const sourceKinds: SourceKind[] = [
  { label: 'a numeric fd', seekable: true, make: async () => new File(fs.openSync(digitsPath, 'r')) },
  { label: 'a FileHandle', seekable: true, make: async () => new File(await fs.promises.open(digitsPath, 'r')) },
  { label: 'an fs.ReadStream', seekable: false, make: async () => new File(fs.createReadStream(digitsPath)) },
  { label: 'a generated Readable', seekable: false, make: async () => new File(generated(['01', '2345', '6', '789'])) },
  { label: 'a web Blob', seekable: true, make: async () => new File(new Blob([DIGITS])) },
  { label: 'a web File', seekable: true, make: async () => new File(new globalThis.File([DIGITS], 'n.txt')) },
  { label: 'another File', seekable: true, make: async () => new File(new File(fs.openSync(digitsPath, 'r'))) },
  { label: 'File.open(path)', seekable: true, make: () => File.open(digitsPath) },
  { label: 'a ContentFile', seekable: true, make: async () => new ContentFile(DIGITS) },
];

describe('every source kind', () => {
  for (const kind of sourceKinds) {
    describe(kind.label, () => {
      test('chunks(3) over "0123456789" gives 012, 345, 678, 9', async () => {
        const file = await kind.make();
        try {
          assert.deepEqual(await collect(file.chunks(3)), ['012', '345', '678', '9']);
        } finally {
          await file.close();
        }
      });

      test('read() gives everything; read(n) gives n bytes', async () => {
        const file = await kind.make();
        try {
          assert.equal(textOf(await file.read(4)), '0123');
          assert.equal(file.tell(), 4);
          assert.equal(textOf(await file.read()), '456789');
          assert.equal(textOf(await file.read()), '');
        } finally {
          await file.close();
        }
      });

      if (kind.seekable) {
        test('chunks() starts over from the first byte after a partial read(4)', async () => {
          const file = await kind.make();
          try {
            assert.equal(textOf(await file.read(4)), '0123');
            assert.deepEqual(await collect(file.chunks(4)), ['0123', '4567', '89']);
            // And again: every chunks() restarts.
            assert.deepEqual(await collect(file.chunks(4)), ['0123', '4567', '89']);
            assert.equal(file.size, 10);
            assert.equal(file.seekable, true);
          } finally {
            await file.close();
          }
        });
      } else {
        test('a stream goes on from where it is after a partial read(4)', async () => {
          const file = await kind.make();
          try {
            assert.equal(textOf(await file.read(4)), '0123');
            assert.deepEqual(await collect(file.chunks(4)), ['4567', '89']);
            assert.equal(file.seekable, false);
          } finally {
            await file.close();
          }
        });
      }

      test('close() closes it; reads then fail', async () => {
        const file = await kind.make();
        assert.equal(file.closed, false);
        await file.close();
        if (kind.label === 'a ContentFile') {
          // Django's ContentFile.close() is a no-op: the content stays readable.
          assert.equal(file.closed, false);
          assert.equal(textOf(await file.read()), DIGITS);
          return;
        }
        assert.equal(file.closed, true);
        await assert.rejects(file.read(1), { message: 'I/O operation on closed file.' });
        await file.close(); // closing twice is fine
      });
    });
  }
});

describe('names and sizes by source', () => {
  test('a numeric fd: the name is the absolute path (through /proc), the size from fstat', async () => {
    const relativeFd = fs.openSync(digitsPath, 'r');
    const file = new File(relativeFd);
    assert.equal(file.name, digitsPath);
    assert.equal(file.size, 10);
    assert.equal(String(file), digitsPath);
    await file.close();
    assert.throws(() => fs.fstatSync(relativeFd), { code: 'EBADF' }, 'close() closes the descriptor');
  });

  test('a numeric fd opened through a relative path still gets the absolute path', async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    let fd: number;
    try {
      fd = fs.openSync('digits.txt', 'r');
    } finally {
      process.chdir(cwd);
    }
    const file = new File(fd);
    assert.equal(file.name, digitsPath);
    await file.close();
  });

  test('a FileHandle: the absolute path, the size', async () => {
    const handle = await fs.promises.open(digitsPath, 'r');
    const file = new File(handle);
    assert.equal(file.name, digitsPath);
    assert.equal(file.size, 10);
    await file.close();
    assert.equal(handle.fd, -1, 'close() closes the FileHandle');
  });

  test('an explicit name wins over the source path; null means no name', async () => {
    const named = new File(fs.openSync(digitsPath, 'r'), 'my-image.png');
    assert.equal(named.name, 'my-image.png');
    await named.close();
    const unnamed = new File(fs.openSync(digitsPath, 'r'), null);
    assert.equal(unnamed.name, null);
    assert.equal(String(unnamed), '');
    await unnamed.close();
  });

  test("an fs.ReadStream: the stream's path and the file's size", async () => {
    const file = new File(fs.createReadStream(digitsPath));
    assert.equal(file.name, digitsPath);
    assert.equal(file.size, 10);
    await file.close();
  });

  test('an fs.ReadStream over part of a file has no known size', async () => {
    const file = new File(fs.createReadStream(digitsPath, { start: 2 }));
    assert.throws(() => file.size, { message: UNKNOWN_SIZE });
    assert.deepEqual(await collect(file.chunks()), ['23456789']);
    await file.close();
  });

  test('a generated Readable: no name, size unknown', async () => {
    const file = new File(generated(['abc', 'def']));
    assert.equal(file.name, null);
    assert.throws(() => file.size, (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.equal(error.message, UNKNOWN_SIZE);
      return true;
    });
    assert.equal(file.sizeIfKnown, undefined);
    assert.throws(() => file.multipleChunks(), { message: UNKNOWN_SIZE });
    assert.deepEqual(await collect(file.chunks()), ['abcdef']);
    await file.close();
  });

  test('a stream yielding text is read as UTF-8 bytes', async () => {
    const file = new File(Readable.from(['é', 'x'], { objectMode: true }));
    assert.deepEqual([...(await file.read())], [0xc3, 0xa9, 0x78]);
  });

  test('an object-mode stream of non-bytes is refused on reading', async () => {
    const file = new File(Readable.from([{ not: 'bytes' }]));
    await assert.rejects(file.read(), TypeError);
  });

  test('a web Blob has no name; a web File gives its name; both give their size', async () => {
    const blob = new File(new Blob(['0123456789']));
    assert.equal(blob.name, null);
    assert.equal(blob.size, 10);
    const webFile = new File(new globalThis.File(['héllo'], 'n.txt'));
    assert.equal(webFile.name, 'n.txt');
    assert.equal(webFile.size, 6);
    assert.equal(textOf(await webFile.read()), 'héllo');
    const renamed = new File(new globalThis.File(['x'], 'n.txt'), 'other.txt');
    assert.equal(renamed.name, 'other.txt');
  });

  test('another File: its name and size carry over, unless a name is given', async () => {
    const inner = new File(fs.openSync(digitsPath, 'r'));
    const outer = new File(inner);
    assert.equal(outer.name, digitsPath);
    assert.equal(outer.size, 10);
    assert.equal(new File(inner, 'renamed.txt').name, 'renamed.txt');
    // Positions are independent.
    assert.equal(textOf(await inner.read(3)), '012');
    assert.equal(textOf(await outer.read(2)), '01');
    await outer.close();
    assert.equal(inner.closed, true, 'they share the underlying source');
  });

  test('File.open(path) names the file by the path as given', async () => {
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const file = await File.open('digits.txt');
      assert.equal(file.name, 'digits.txt');
      assert.equal(file.size, 10);
      await file.close();
    } finally {
      process.chdir(cwd);
    }
  });

  test('an assigned size overrides the computed one', async () => {
    const file = new File(generated(['abc']));
    file.size = 3;
    assert.equal(file.size, 3);
    assert.equal(file.multipleChunks(2), true);
    await file.close();
  });

  test('the size is computed once and cached (later growth is not seen)', async () => {
    const path = join(dir, 'growing.txt');
    fs.writeFileSync(path, 'abc');
    const file = new File(fs.openSync(path, 'r'));
    assert.equal(file.size, 3);
    fs.appendFileSync(path, 'def');
    assert.equal(file.size, 3);
    await file.close();
  });

  test('a wrong source is a TypeError', () => {
    assert.throws(() => new File({} as never), TypeError);
    assert.throws(() => new File(-1 as never), TypeError);
    assert.throws(() => new File('path.txt' as never), TypeError);
  });
});

describe('chunks() and multipleChunks()', () => {
  test('chunks(0) and chunks() use the default size of 65536', async () => {
    assert.equal(DEFAULT_CHUNK_SIZE, 65536);
    const file = new ContentFile(new Uint8Array(70_000));
    const sizes = async (iterable: AsyncIterable<Uint8Array>) => {
      const result: number[] = [];
      for await (const chunk of iterable) result.push(chunk.byteLength);
      return result;
    };
    assert.deepEqual(await sizes(file.chunks(0)), [65536, 4464]);
    assert.deepEqual(await sizes(file.chunks()), [65536, 4464]);
  });

  test('an empty file yields no chunks', async () => {
    assert.deepEqual(await collect(new ContentFile('').chunks()), []);
    const emptyPath = join(dir, 'empty.txt');
    fs.writeFileSync(emptyPath, '');
    const file = new File(fs.openSync(emptyPath, 'r'));
    assert.deepEqual(await collect(file.chunks()), []);
    await file.close();
    assert.deepEqual(await collect(new File(generated([])).chunks()), []);
  });

  test('multipleChunks: size 10 with chunk 3 → true, with 10 → false; 70000 bytes by default → true', async () => {
    const file = new File(fs.openSync(digitsPath, 'r'));
    assert.equal(file.multipleChunks(3), true);
    assert.equal(file.multipleChunks(10), false);
    assert.equal(file.multipleChunks(), false);
    assert.equal(file.multipleChunks(0), false);
    await file.close();
    assert.equal(new ContentFile(new Uint8Array(70_000)).multipleChunks(), true);
    assert.equal(new ContentFile(new Uint8Array(65_536)).multipleChunks(), false);
  });

  test('a stream gives full chunks even when the stream delivers small pieces', async () => {
    const file = new File(generated(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']));
    assert.deepEqual(await collect(file.chunks(4)), ['0123', '4567', '89']);
  });

  test('peekStart on a stream keeps the peeked bytes for chunks()', async () => {
    const file = new File(generated(['01', '23', '45', '6789']));
    assert.equal(textOf(await file.peekStart(5)), '01234');
    assert.equal(textOf(await file.peekStart(3)), '012');
    assert.equal(file.tell(), 0);
    assert.deepEqual(await collect(file.chunks(3)), ['012', '345', '678', '9']);
  });

  test('peekStart on a seekable file reads the start, wherever the position is', async () => {
    const file = new File(fs.openSync(digitsPath, 'r'));
    await file.read(6);
    assert.equal(textOf(await file.peekStart(4)), '0123');
    assert.equal(textOf(await file.read()), '6789');
    await file.close();
  });

  test('peekStart past the end of a stream gives what there is, and chunks() still gets it all', async () => {
    const file = new File(generated(['ab']));
    assert.equal(textOf(await file.peekStart(100)), 'ab');
    assert.deepEqual(await collect(file.chunks()), ['ab']);
  });
});

/** A File whose chunks() default to 4 bytes, as Django's tests set DEFAULT_CHUNK_SIZE = 4 on an instance. */
class FourByteChunks extends File {
  override chunks(chunkSize = 4): AsyncGenerator<Uint8Array, void, undefined> {
    return super.chunks(chunkSize);
  }
}

describe('lines() (Django File.__iter__, reference §9 items 1–3)', () => {
  const cases: Array<[string, string[]]> = [
    ['one\ntwo\nthree', ['one\n', 'two\n', 'three']],
    ['one\r\ntwo\r\nthree', ['one\r\n', 'two\r\n', 'three']],
    ['one\rtwo\rthree', ['one\r', 'two\r', 'three']],
    ['one\rtwo\nthree\r\nfour', ['one\r', 'two\n', 'three\r\n', 'four']],
  ];

  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input)} → ${JSON.stringify(expected)}`, async () => {
      assert.deepEqual(await collect(new ContentFile(input).lines()), expected);
    });

    test(`${JSON.stringify(input)} with 4-byte chunks gives the same`, async () => {
      assert.deepEqual(await collect(new FourByteChunks(new ContentFile(input)).lines()), expected);
    });
  }

  test('a 4-byte chunk boundary falls between \\r and \\n: one \\r\\n line', async () => {
    // "one\r" | "\ntwo" | "\r\nth" | "ree"
    const lines = await collect(new FourByteChunks(new ContentFile('one\r\ntwo\r\nthree')).lines());
    assert.deepEqual(lines, ['one\r\n', 'two\r\n', 'three']);
    // "abc\r" | "\rxyz": a lone \r at the end of a chunk followed by another \r.
    assert.deepEqual(await collect(new FourByteChunks(new ContentFile('abc\r\rxyz')).lines()), ['abc\r', '\r', 'xyz']);
    // A final \r at the very end of the file.
    assert.deepEqual(await collect(new FourByteChunks(new ContentFile('abc\r')).lines()), ['abc\r']);
    assert.deepEqual(await collect(new FourByteChunks(new ContentFile('ab\r\n')).lines()), ['ab\r\n']);
  });

  test('lines longer than a chunk are joined across chunks', async () => {
    const lines = await collect(new FourByteChunks(new ContentFile('a long first line\nshort\n')).lines());
    assert.deepEqual(lines, ['a long first line\n', 'short\n']);
  });

  test('text: "one\\ntwo\\nthree" decodes to the str lines; other separators do not end a line', async () => {
    assert.deepEqual(await collect(new ContentFile('one\ntwo\nthree').lines()), ['one\n', 'two\n', 'three']);
    assert.deepEqual(await collect(new ContentFile('a\u2028b\x0cc\nd\r').lines()), ['a\u2028b\x0cc\n', 'd\r']);
  });

  test('an empty file has no lines', async () => {
    assert.deepEqual(await collect(new ContentFile('').lines()), []);
  });

  test('lines() over a file on disk and over a stream', async () => {
    const path = join(dir, 'lines.txt');
    fs.writeFileSync(path, 'one\rtwo\nthree\r\nfour');
    const fromFd = new File(fs.openSync(path, 'r'));
    assert.deepEqual(await collect(fromFd.lines()), ['one\r', 'two\n', 'three\r\n', 'four']);
    await fromFd.close();
    const fromStream = new File(generated(['one\r', '\ntwo', '\r', '\nthree']));
    assert.deepEqual(await collect(fromStream.lines()), ['one\r\n', 'two\r\n', 'three']);
  });
});

describe('ContentFile', () => {
  test('size counts bytes, not characters (our API differs from Django on purpose)', () => {
    assert.equal(new ContentFile('é').size, 2);
    assert.equal(new ContentFile('español').size, 8);
    assert.equal(new ContentFile('').size, 0);
    assert.equal(new ContentFile(new Uint8Array([0xf1, 0xf1])).size, 2);
  });

  test('the name is null by default; a given name is kept', () => {
    assert.equal(new ContentFile('content').name, null);
    assert.equal(new ContentFile(new Uint8Array([1])).name, null);
    assert.equal(new ContentFile('content', 'I can have a name too!').name, 'I can have a name too!');
  });

  test('text is stored as UTF-8; bytes are kept as given', async () => {
    assert.deepEqual([...(await new ContentFile('é').read())], [0xc3, 0xa9]);
    assert.deepEqual([...(await new ContentFile(new Uint8Array([0, 255])).read())], [0, 255]);
  });

  test('String() is "Raw content"', () => {
    assert.equal(String(new ContentFile('x')), 'Raw content');
    assert.equal(String(new ContentFile('x', 'named.txt')), 'Raw content');
  });

  test('open() rewinds; opening twice reads the whole content both times', async () => {
    const file = new ContentFile('Test string');
    assert.equal(textOf(await (await file.open()).read()), 'Test string');
    assert.equal(textOf(await (await file.open()).read()), 'Test string');
    assert.equal(await file.text(), 'Test string');
  });
});

describe('closed, open() and close()', () => {
  test('File(null): closed, size unknown, cannot be reopened', async () => {
    const file = new File(null);
    assert.equal(file.closed, true);
    assert.equal(file.name, null);
    assert.throws(() => file.size, { message: UNKNOWN_SIZE });
    await assert.rejects(file.open(), { message: CANNOT_REOPEN });
    await file.close(); // nothing to close: no error
  });

  test('a closed file without a name cannot be reopened', async () => {
    const file = new File(new Blob(['x']));
    await file.close();
    assert.equal(file.closed, true);
    await assert.rejects(file.open(), { message: CANNOT_REOPEN });
  });

  test('a closed file whose name is a missing path cannot be reopened', async () => {
    const path = join(dir, 'to-be-removed.txt');
    fs.writeFileSync(path, 'gone');
    const file = new File(fs.openSync(path, 'r'));
    await file.close();
    fs.unlinkSync(path);
    await assert.rejects(file.open(), { message: CANNOT_REOPEN });
  });

  test('a closed file named by an existing path reopens, from the start', async () => {
    const file = new File(fs.openSync(digitsPath, 'r'));
    assert.equal(textOf(await file.read(3)), '012');
    await file.close();
    assert.equal(file.closed, true);
    const reopened = await file.open();
    assert.equal(reopened, file);
    assert.equal(file.closed, false);
    assert.equal(textOf(await file.read()), DIGITS);
    await file.close();
  });

  test('a closed stream named by its path reopens as the file', async () => {
    const file = new File(fs.createReadStream(digitsPath));
    await file.read(2);
    await file.close();
    await file.open();
    assert.deepEqual(await collect(file.chunks(5)), ['01234', '56789']);
    await file.close();
  });

  test('open() on an open file rewinds it and returns the same object', async () => {
    const file = new File(fs.openSync(digitsPath, 'r'));
    await file.read(7);
    assert.equal(await file.open(), file);
    assert.equal(file.tell(), 0);
    assert.equal(textOf(await file.read(2)), '01');
    await file.close();
  });

  test('await using closes the file at the end of the block', async () => {
    let outside: File;
    {
      await using file = new File(fs.openSync(digitsPath, 'r'));
      outside = file;
      assert.equal(textOf(await file.read(2)), '01');
      assert.equal(file.closed, false);
    }
    assert.equal(outside.closed, true);
  });

  test('await using closes a stream too (the stream is destroyed)', async () => {
    const stream = generated(['abc', 'def']);
    {
      await using file = new File(stream);
      assert.equal(textOf(await file.read(2)), 'ab');
    }
    assert.equal(stream.destroyed, true);
  });
});

test('ImageFile.open() of something that is not an image closes the file it opened', { skip: !fs.existsSync('/proc/self/fd') }, async () => {
  const path = join(dir, 'not-an-image.png');
  fs.writeFileSync(path, '<html><script>alert(1)</script></html>');
  const openDescriptors = () => fs.readdirSync('/proc/self/fd').length;
  const before = openDescriptors();
  for (let index = 0; index < 5; index++) await assert.rejects(ImageFile.open(path), ValidationError);
  assert.equal(openDescriptors(), before, 'no descriptor is left open');
});

test('a 200 MiB file through an fd streams through chunks() with flat memory', async () => {
  const path = join(dir, 'large.bin');
  const written = createHash('sha256');
  const piece = Buffer.alloc(MiB);
  const out = fs.openSync(path, 'w');
  try {
    for (let index = 0; index < 200; index++) {
      piece.fill(index & 0xff);
      piece.writeUInt32LE(index, 0);
      written.update(piece);
      fs.writeSync(out, piece);
    }
  } finally {
    fs.closeSync(out);
  }

  const file = new File(fs.openSync(path, 'r'));
  assert.equal(file.size, 200 * MiB);
  assert.equal(file.multipleChunks(), true);
  const read = createHash('sha256');
  let total = 0;
  let count = 0;
  const sampler = rssSampler(5);
  let growth: number;
  try {
    for await (const chunk of file.chunks()) {
      assert.ok(chunk.byteLength <= DEFAULT_CHUNK_SIZE);
      read.update(chunk);
      total += chunk.byteLength;
      count++;
    }
  } finally {
    growth = sampler.stop();
    await file.close();
    fs.rmSync(path, { force: true });
  }
  assert.equal(total, 200 * MiB);
  assert.equal(count, (200 * MiB) / DEFAULT_CHUNK_SIZE);
  assert.equal(read.digest('hex'), written.digest('hex'));
  assert.ok(growth < 64 * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB while reading`);
});

describe('File.open(): opened at once, never left open', () => {
  const openDescriptors = (): number => fs.readdirSync('/proc/self/fd').length;
  const hasProc = fs.existsSync('/proc/self/fd');

  test('a FIFO opens without holding up the event loop while it waits for a writer, and is read as a stream', { skip: process.platform === 'win32' }, async () => {
    const fifo = join(dir, 'pipe');
    const made = spawnSync('mkfifo', [fifo]);
    if (made.status !== 0) return; // no mkfifo here
    try {
      const opening = File.open(fifo);
      // The writer's open runs while File.open waits: a File.open that blocked the event loop would deadlock.
      const writer = fs.createWriteStream(fifo);
      writer.end('through the pipe');
      const file = await opening;
      assert.equal(file.seekable, false);
      assert.equal(await file.text(), 'through the pipe');
      await file.close();
    } finally {
      fs.rmSync(fifo, { force: true });
    }
  });

  test('a directory opens, and reading it fails with EISDIR', async () => {
    const file = await File.open(dir);
    await assert.rejects(file.read(), (error: NodeJS.ErrnoException) => error.code === 'EISDIR');
    await file.close();
  });

  test('a File that is never closed has its descriptor closed when it is collected, with a warning', { skip: !hasProc }, () => {
    const script = `
      import { File } from ${JSON.stringify(new URL('../src/index.ts', import.meta.url).href)};
      import { readdirSync } from 'node:fs';
      const count = () => readdirSync('/proc/self/fd').length;
      const warnings = [];
      process.on('warning', (warning) => warnings.push(warning.message));
      const before = count();
      await (async () => { await File.open(${JSON.stringify(digitsPath)}); })();
      const opened = count();
      for (let round = 0; round < 20 && count() >= opened; round++) {
        globalThis.gc();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      console.log(JSON.stringify({ before, opened, after: count(), warnings }));
    `;
    const run = spawnSync(
      process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' },
    );
    assert.equal(run.status, 0, run.stderr);
    const { before, opened, after, warnings } = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as {
      before: number; opened: number; after: number; warnings: string[];
    };
    assert.equal(opened, before + 1);
    assert.equal(after, before, 'the descriptor was closed once the File was collected');
    assert.ok(warnings.some((message) => message.includes('digits.txt') && message.includes('File.open()')), warnings.join('\n'));
  });

  test('a File closed between two pieces of chunks() reads no further, even when its descriptor is reused', async () => {
    const large = join(dir, 'large-a.bin');
    const other = join(dir, 'large-b.bin');
    fs.writeFileSync(large, Buffer.alloc(4 * MiB, 0x61));
    fs.writeFileSync(other, Buffer.alloc(4 * MiB, 0x62));
    for (const options of [{}, { reuseBuffers: true }]) {
      const file = await File.open(large);
      const pieces = file.chunks(MiB, options);
      assert.ok(!(await pieces.next()).value!.includes(0x62));
      await file.close();
      // Gets the number the first file had (the lowest free one): a read through it would see these bytes.
      const reopened = fs.openSync(other, 'r');
      try {
        await assert.rejects(pieces.next(), { message: 'I/O operation on closed file.' });
      } finally {
        fs.closeSync(reopened);
      }
    }
  });

  test('the size of a File closed before it was asked is refused, never the size of a file that took its descriptor', async () => {
    const small = join(dir, 'small-size.bin');
    const big = join(dir, 'big-size.bin');
    fs.writeFileSync(small, Buffer.alloc(10));
    fs.writeFileSync(big, Buffer.alloc(12345));
    const file = await File.open(small);
    await file.close();
    const reopened = fs.openSync(big, 'r'); // the lowest free number: the one the File had
    try {
      assert.throws(() => file.size, /closed file|Unable to determine/);
    } finally {
      fs.closeSync(reopened);
    }
  });

  test('a saved File.open() file leaves no descriptor open, and reading it again opens it again', { skip: !hasProc }, async () => {
    const { FileSystemStorage } = await import('../src/index.ts');
    const storage = new FileSystemStorage({ location: join(dir, 'saved') });
    const before = openDescriptors();
    const file = await File.open(digitsPath);
    const name = await storage.save('digits.txt', file);
    assert.equal(openDescriptors(), before);
    assert.equal(await file.text(), DIGITS);
    await file.close();
    assert.equal(openDescriptors(), before);
    const stored = await storage.open(name);
    assert.equal(await stored.text(), DIGITS);
    await stored.close();
    assert.equal(openDescriptors(), before);
  });
});
