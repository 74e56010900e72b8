/**
 * Byte sources: the one interface File reads through, whatever it wraps.
 *
 * A seekable source reads at any position (so chunks() can restart from the start, as Django's does);
 * a sequential one (a stream, a pipe) only reads forward, and keeps what was peeked so that the bytes an
 * image check looked at are still delivered to the storage afterwards.
 */
import { closeSync, constants, fstatSync, openSync, read as readCallback, readSync, readlinkSync, statSync, close as closeCallback } from 'node:fs';
import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';

const readFd = promisify(readCallback);
const closeFd = promisify(closeCallback);

/**
 * Reads of a regular file with at most this many bytes left are made at once, not through the thread pool:
 * from the page cache they take microseconds, a thread-pool round trip some fifty. Larger reads go through
 * the pool, so a large file never holds up the event loop.
 */
export const IMMEDIATE_READ_LIMIT = 64 * 1024;

export interface ByteSource {
  /** Whether read() honours `position` (otherwise it reads on from where the last read stopped). */
  readonly seekable: boolean;
  /** Up to `length` bytes at `position`; fewer only at the end; empty at the end. */
  read(length: number, position: number): Promise<Uint8Array>;
  /** Fills `buffer` from `position` (seekable regular files only); the bytes read, fewer only at the end. */
  readInto?(buffer: Buffer, position: number): Promise<number>;
  /** The first `length` bytes a sequential reader has not consumed yet, without consuming them. */
  peek(length: number): Promise<Uint8Array>;
  /** The total size in bytes, or undefined where it cannot be known without reading. */
  size(): number | undefined;
  /** When the bytes last changed, where the source can tell without reading (an open file). */
  modifiedTime?(): Date | undefined;
  /** The path this source was opened from, where there is one (used for the default name). */
  readonly path: string | undefined;
  /**
   * A path that opens these very bytes (an open descriptor through /proc on Linux), so a storage on the same
   * machine can copy them in the kernel. Only for seekable regular files.
   */
  readonly closed: boolean;
  close(): Promise<void>;
}

/** The path behind an open descriptor, where the OS tells it (Linux /proc); pipes and sockets have none. */
function pathOfDescriptor(fd: number): string | undefined {
  try {
    const target = readlinkSync(`/proc/self/fd/${fd}`);
    return target.startsWith('/') && !target.endsWith(' (deleted)') ? target : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads forward only, keeping a queue of bytes that were peeked or over-read so no byte is lost
 * between a peek and the reads that follow it.
 */
abstract class SequentialSource implements ByteSource {
  readonly seekable = false;
  private readonly queued: Uint8Array[] = [];
  private queuedBytes = 0;
  private exhausted = false;
  protected isClosed = false;

  abstract readonly path: string | undefined;
  abstract size(): number | undefined;
  /** The next piece from the underlying source, or undefined at the end. */
  protected abstract pull(preferredLength: number): Promise<Uint8Array | undefined>;
  protected abstract release(): Promise<void>;

  get closed(): boolean {
    return this.isClosed;
  }

  private async fill(length: number): Promise<void> {
    while (this.queuedBytes < length && !this.exhausted) {
      const piece = await this.pull(length - this.queuedBytes);
      if (piece === undefined) {
        this.exhausted = true;
      } else if (piece.byteLength > 0) {
        this.queued.push(piece);
        this.queuedBytes += piece.byteLength;
      }
    }
  }

  private take(length: number, consume: boolean): Uint8Array {
    const wanted = Math.min(length, this.queuedBytes);
    if (wanted === 0) return new Uint8Array(0);
    const first = this.queued[0]!;
    if (first.byteLength >= wanted) {
      const result = first.subarray(0, wanted);
      if (consume) this.dropFront(wanted);
      return result;
    }
    const result = new Uint8Array(wanted);
    let offset = 0;
    for (const piece of this.queued) {
      const part = piece.subarray(0, wanted - offset);
      result.set(part, offset);
      offset += part.byteLength;
      if (offset === wanted) break;
    }
    if (consume) this.dropFront(wanted);
    return result;
  }

  private dropFront(length: number): void {
    let remaining = length;
    while (remaining > 0) {
      const first = this.queued[0]!;
      if (first.byteLength <= remaining) {
        this.queued.shift();
        remaining -= first.byteLength;
      } else {
        this.queued[0] = first.subarray(remaining);
        remaining = 0;
      }
    }
    this.queuedBytes -= length;
  }

  async read(length: number): Promise<Uint8Array> {
    if (this.isClosed) throw new Error('I/O operation on closed file.');
    await this.fill(length);
    return this.take(length, true);
  }

  async peek(length: number): Promise<Uint8Array> {
    if (this.isClosed) throw new Error('I/O operation on closed file.');
    await this.fill(length);
    return this.take(length, false);
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.queued.length = 0;
    this.queuedBytes = 0;
    await this.release();
  }
}

/** A Node Readable (an fs.ReadStream, an HTTP request body, a PassThrough…). */
class ReadableSource extends SequentialSource {
  private readonly iterator: AsyncIterator<unknown>;

  constructor(private readonly stream: Readable) {
    super();
    this.iterator = stream[Symbol.asyncIterator]();
  }

  get path(): string | undefined {
    const path = (this.stream as { path?: unknown }).path;
    if (typeof path === 'string') return path;
    if (Buffer.isBuffer(path)) return path.toString();
    return undefined;
  }

  size(): number | undefined {
    // An fs.ReadStream over a whole file has the file's size; any other stream's length is unknown.
    const { start, end } = this.stream as { start?: number; end?: number };
    const path = this.path;
    if (path === undefined || (start ?? 0) !== 0 || (end !== undefined && end !== Infinity)) return undefined;
    try {
      const stats = statSync(path);
      return stats.isFile() ? stats.size : undefined;
    } catch {
      return undefined;
    }
  }

  protected async pull(): Promise<Uint8Array | undefined> {
    const { value, done } = await this.iterator.next();
    if (done) return undefined;
    if (typeof value === 'string') return Buffer.from(value);
    if (value instanceof Uint8Array) return value;
    throw new TypeError('The stream yielded something other than bytes or text (an object-mode stream cannot be a file).');
  }

  protected async release(): Promise<void> {
    await this.iterator.return?.();
    this.stream.destroy();
  }
}

/** A descriptor that is not a regular file (a pipe, a socket, a terminal): read forward only. */
class SequentialDescriptorSource extends SequentialSource {
  readonly path = undefined;

  constructor(private readonly fd: number) {
    super();
  }

  size(): undefined {
    return undefined;
  }

  protected async pull(preferredLength: number): Promise<Uint8Array | undefined> {
    const buffer = Buffer.allocUnsafe(Math.max(preferredLength, 65536));
    const { bytesRead } = await readFd(this.fd, buffer, 0, buffer.byteLength, null);
    return bytesRead === 0 ? undefined : buffer.subarray(0, bytesRead);
  }

  protected async release(): Promise<void> {
    await closeFd(this.fd);
  }
}

/** Shared by regular-file descriptors and FileHandles: positional reads, size from fstat. */
abstract class PositionalSource implements ByteSource {
  readonly seekable = true;
  protected isClosed = false;
  abstract readonly path: string | undefined;
  protected abstract descriptor(): number;
  protected abstract release(): Promise<void>;

  get closed(): boolean {
    return this.isClosed;
  }

  size(): number | undefined {
    return this.stats().size;
  }

  modifiedTime(): Date | undefined {
    return this.stats().mtime;
  }

  private statsNow: Stats | undefined;

  /**
   * The file's fstat, shared by the calls of one synchronous run (a media answer asks the size and the
   * time together): taken again once pending microtasks run, so it is never older than that run.
   */
  private stats(): Stats {
    this.assertOpen();
    if (this.statsNow === undefined) {
      this.statsNow = fstatSync(this.descriptor());
      queueMicrotask(() => {
        this.statsNow = undefined;
      });
    }
    return this.statsNow;
  }

  /** Fills `buffer` from `position`: a regular file returns short reads near its end only, so it loops. */
  readInto(buffer: Buffer, position: number): Promise<number> {
    this.assertOpen();
    return this.fill(this.descriptor(), buffer, position, this.stats().size - position <= IMMEDIATE_READ_LIMIT);
  }

  /** The reads under way in the thread pool: closing waits for them, so none can land on a reused descriptor. */
  private readonly readsInFlight = new Set<Promise<unknown>>();

  private async readThroughPool(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    const request = readFd(fd, buffer, offset, length, position);
    this.readsInFlight.add(request);
    try {
      return (await request).bytesRead;
    } finally {
      this.readsInFlight.delete(request);
    }
  }

  /** Before every read: once closed, the descriptor's number may already belong to another file. */
  private assertOpen(): void {
    if (this.isClosed) throw new Error('I/O operation on closed file.');
  }

  /** Fills `buffer` from `position`, at once or through the thread pool. */
  private async fill(fd: number, buffer: Buffer, position: number, immediate: boolean): Promise<number> {
    let total = 0;
    while (total < buffer.byteLength) {
      this.assertOpen(); // closed while the last read was under way
      const length = buffer.byteLength - total;
      const bytesRead = immediate ? readSync(fd, buffer, total, length, position + total) : await this.readThroughPool(fd, buffer, total, length, position + total);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    return total;
  }

  async read(length: number, position: number): Promise<Uint8Array> {
    this.assertOpen();
    const fd = this.descriptor();
    if (length <= IMMEDIATE_READ_LIMIT) {
      // Small enough to ask for as it is, at once: no size needed to choose the buffer or the way.
      const buffer = Buffer.allocUnsafe(length);
      const bytesRead = await this.fill(fd, buffer, position, true);
      return bytesRead === length ? buffer : buffer.subarray(0, bytesRead);
    }
    const remaining = this.stats().size - position;
    // No larger than what is left: a small file is not read into a megabyte. Past the size the file gave
    // (it grew, or it is a /proc file that says 0), one ordinary piece is tried.
    const buffer = Buffer.allocUnsafe(Math.min(length, remaining > 0 ? remaining : IMMEDIATE_READ_LIMIT));
    const bytesRead = await this.fill(fd, buffer, position, remaining <= IMMEDIATE_READ_LIMIT);
    return bytesRead === buffer.byteLength ? buffer : buffer.subarray(0, bytesRead);
  }

  peek(length: number): Promise<Uint8Array> {
    return this.read(length, 0);
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    await Promise.allSettled(this.readsInFlight);
    await this.release();
  }
}

class DescriptorSource extends PositionalSource {
  readonly path: string | undefined;

  constructor(protected readonly descriptorNumber: number, path: string | undefined = pathOfDescriptor(descriptorNumber)) {
    super();
    this.path = path;
  }

  protected descriptor(): number {
    return this.descriptorNumber;
  }

  protected release(): Promise<void> {
    return closeFd(this.descriptorNumber);
  }
}

/** The descriptor of an opened file that was never closed: closed when its source is collected, with a warning. */
interface Unclosed {
  fd: number;
  path: string;
}

const unclosedFiles = new FinalizationRegistry<Unclosed>(({ fd, path }) => {
  try {
    closeSync(fd);
  } catch {
    return;
  }
  process.emitWarning(`Closing file descriptor ${fd} of ${path} on garbage collection: close the File that File.open() gave.`);
});

/**
 * A file filefield opened by its path (File.open()). Opened and closed at once, not through the thread
 * pool (both take microseconds on a local disk); one never closed is closed when it is collected, as
 * Node does for a FileHandle.
 */
export class OpenedFileSource extends DescriptorSource {
  private readonly token = {};

  constructor(fd: number, path: string) {
    super(fd, resolve(path));
    unclosedFiles.register(this, { fd, path }, this.token);
  }

  /**
   * The file at `path` opened, or null where it is not a regular file (a FIFO, a device): those are read
   * as streams. Opened without blocking, so a FIFO with no writer yet cannot hold up the event loop.
   * `check` sees the descriptor first, and throws to refuse it (it is closed then).
   */
  static open(path: string, check: (fd: number) => void = () => undefined): OpenedFileSource | null {
    const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    let regular: boolean;
    try {
      check(fd);
      regular = fstatSync(fd).isFile();
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    if (regular) return new OpenedFileSource(fd, path);
    closeSync(fd);
    return null;
  }

  protected override async release(): Promise<void> {
    unclosedFiles.unregister(this.token);
    closeSync(this.descriptorNumber);
  }
}

class FileHandleSource extends PositionalSource {
  readonly path: string | undefined;

  constructor(private readonly handle: FileHandle) {
    super();
    this.path = pathOfDescriptor(handle.fd);
  }

  protected descriptor(): number {
    return this.handle.fd;
  }

  protected release(): Promise<void> {
    return this.handle.close();
  }
}

/** A web Blob or File (from fetch, a FormData upload, `new Blob([...])`): sliceable, so seekable. */
class BlobSource implements ByteSource {
  readonly seekable = true;
  readonly path = undefined;
  private isClosed = false;

  constructor(private readonly blob: Blob) {}

  get closed(): boolean {
    return this.isClosed;
  }

  size(): number {
    return this.blob.size;
  }

  async read(length: number, position: number): Promise<Uint8Array> {
    if (this.isClosed) throw new Error('I/O operation on closed file.');
    return new Uint8Array(await this.blob.slice(position, position + length).arrayBuffer());
  }

  peek(length: number): Promise<Uint8Array> {
    return this.read(length, 0);
  }

  async close(): Promise<void> {
    this.isClosed = true;
  }
}

/** Bytes already in memory (ContentFile). Reads are views, never copies. */
export class MemorySource implements ByteSource {
  readonly seekable = true;
  readonly path = undefined;
  readonly closed = false;

  constructor(readonly bytes: Uint8Array) {}

  size(): number {
    return this.bytes.byteLength;
  }

  async read(length: number, position: number): Promise<Uint8Array> {
    return this.bytes.subarray(position, position + length);
  }

  peek(length: number): Promise<Uint8Array> {
    return this.read(length, 0);
  }

  // Like Django's ContentFile, closing keeps the content readable.
  async close(): Promise<void> {}
}

function isFileHandle(value: object): value is FileHandle {
  return typeof (value as FileHandle).fd === 'number' && typeof (value as FileHandle).read === 'function'
    && typeof (value as FileHandle).stat === 'function';
}

/** The ByteSource for anything File accepts (another File is handled by File itself). */
export function byteSourceOf(source: unknown): ByteSource {
  if (typeof source === 'number') {
    if (!Number.isInteger(source) || source < 0) throw new TypeError(`${source} is not a file descriptor.`);
    return fstatSync(source).isFile() ? new DescriptorSource(source) : new SequentialDescriptorSource(source);
  }
  if (source instanceof Uint8Array) return new MemorySource(source);
  if (typeof source === 'object' && source !== null) {
    if (source instanceof Readable) return new ReadableSource(source);
    if (typeof Blob !== 'undefined' && source instanceof Blob) return new BlobSource(source);
    if (isFileHandle(source)) {
      return fstatSync(source.fd).isFile() ? new FileHandleSource(source) : new ReadableSource(source.createReadStream());
    }
  }
  throw new TypeError(
    'A File wraps a file descriptor, a FileHandle, a Readable stream, a Blob or another File; got '
      + (source === null ? 'null' : typeof source) + '.',
  );
}
