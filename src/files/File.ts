/**
 * File: Django's File wrapper in TypeScript. It gives every kind of byte source one interface
 * (name, size, chunks, read, close) and never loads a large file whole unless asked to with read().
 */
import { statSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { inspect } from 'node:util';
import { byteSourceOf, MemorySource, OpenedFileSource, type ByteSource } from './sources.ts';

export const DEFAULT_CHUNK_SIZE = 64 * 1024;

/** Buffers that chunks() cycles through with `reuseBuffers`: a piece stays valid while three more are taken. */
const REUSED_BUFFERS = 4;
const SMALLEST_REUSED_BUFFER = 4096;

export interface ChunkOptions {
  /**
   * Pieces may be views of a few buffers that later pieces overwrite (each stays valid until three more
   * pieces were taken), where the source reads into buffers (a regular file). For a consumer that writes
   * each piece out at once: memory stays at those buffers instead of growing until the garbage collector
   * runs. Wrappers that keep no piece pass the option on; others leave it out.
   */
  reuseBuffers?: boolean;
}

/** What `new File(...)` wraps. */
export type FileSource = number | FileHandle | Readable | Blob | File;

const NO_FILE = 'The file cannot be reopened.';

/** The source of a file filefield opens by its path: a regular file at once, anything else as a stream. */
async function openOwned(path: string): Promise<ByteSource> {
  // Looked at first, not opened to find out: opening a FIFO, even for a moment, lets its writer go on.
  const regular = statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
  return (regular ? OpenedFileSource.open(path) : null) ?? byteSourceOf(await openFile(path, 'r'));
}

export class File {
  name: string | null;
  /** The bytes behind this File; null for an empty File (Django's File(None)) or a FieldFile not yet opened. */
  protected source: ByteSource | null;
  private position = 0;
  private knownSize: number | undefined;
  /** The path File.open() opened: the handle is filefield's to close, and to open again when read after that. */
  private ownedPath: string | null = null;
  /** Closed by closeIfOwned() (not by the caller): the next read opens ownedPath again. */
  private reopenOnRead = false;

  constructor(source: FileSource | null, name?: string | null) {
    if (source instanceof File) {
      this.source = source.source;
      this.name = name === undefined ? source.name : name;
      this.knownSize = source.knownSize;
      return;
    }
    this.source = source === null ? null : byteSourceOf(source);
    this.name = name === undefined ? defaultNameOf(source, this.source) : name;
  }

  /** Opens a local file for reading; its name is the path as given. */
  static async open(path: string, name: string | null = path): Promise<File> {
    const file = new File(null, name);
    file.source = await openOwned(path);
    file.ownedPath = path;
    return file;
  }

  /**
   * Closes the handle if filefield opened it (File.open()), as a save does once it has stored the bytes:
   * nothing is left for the garbage collector to close. Reading the File again opens the path again.
   */
  async closeIfOwned(): Promise<void> {
    if (this.ownedPath === null || this.closed) return;
    void this.sizeIfKnown; // kept: it can no longer be asked of the closed handle
    await this.close();
    this.reopenOnRead = true;
  }

  /** A File that File.open() made, closed since by closeIfOwned(), is opened again for reading. */
  private async reopenIfOwned(): Promise<void> {
    if (!this.reopenOnRead || this.ownedPath === null || !this.closed) return;
    this.source = await openOwned(this.ownedPath);
    this.position = 0;
    this.reopenOnRead = false;
  }

  /**
   * The size in bytes, computed once. Throws where it cannot be known without reading everything
   * (a stream of unknown length), as Django does.
   */
  get size(): number {
    if (this.knownSize === undefined) {
      const size = this.source?.size();
      if (size === undefined) throw new Error("Unable to determine the file's size.");
      this.knownSize = size;
    }
    return this.knownSize;
  }

  set size(value: number) {
    this.knownSize = value;
  }

  /** The size if it is known without reading, else undefined (never throws). */
  get sizeIfKnown(): number | undefined {
    try {
      return this.size;
    } catch {
      return undefined;
    }
  }

  /** When the bytes last changed, if the source tells it without reading (an open local file), else undefined. */
  get modifiedTimeIfKnown(): Date | undefined {
    return this.source?.closed ? undefined : this.source?.modifiedTime?.();
  }

  get closed(): boolean {
    return this.source === null || this.source.closed;
  }

  /** Whether chunks() can start over from the first byte. */
  get seekable(): boolean {
    return !this.closed && this.requireSource().seekable;
  }

  /** The current read position (bytes read so far, for sequential sources). */
  tell(): number {
    return this.position;
  }

  seek(position: number): void {
    const source = this.requireSource();
    if (!source.seekable && position !== this.position) {
      throw new Error('This file is a stream: it cannot seek.');
    }
    if (!Number.isInteger(position) || position < 0) throw new RangeError(`Cannot seek to ${position}.`);
    this.position = position;
  }

  /** Reads `length` bytes from the current position, or everything that is left when no length is given. */
  async read(length?: number): Promise<Uint8Array> {
    await this.reopenIfOwned();
    const source = this.requireSource();
    if (length !== undefined) return this.readAtPosition(source, length);
    const pieces: Uint8Array[] = [];
    for (;;) {
      const piece = await this.readAtPosition(source, DEFAULT_CHUNK_SIZE);
      if (piece.byteLength === 0) break;
      pieces.push(piece);
    }
    return concatBytes(pieces);
  }

  /** The whole content as UTF-8 text (convenient in the shell for small files). */
  async text(): Promise<string> {
    if (this.seekable) this.position = 0;
    return new TextDecoder().decode(await this.read());
  }

  /**
   * The first `length` bytes that chunks() will yield, without consuming them: from the start for a
   * seekable file, from the current position for a stream (whose peeked bytes are kept for later reads).
   */
  async peekStart(length: number): Promise<Uint8Array> {
    await this.reopenIfOwned();
    return this.requireSource().peek(length);
  }

  /**
   * The content in pieces of at most `chunkSize` bytes. Starts over from the first byte where the source
   * can seek (Django's chunks() does too); a stream goes on from where it is.
   */
  async *chunks(chunkSize: number = DEFAULT_CHUNK_SIZE, options: ChunkOptions = {}): AsyncGenerator<Uint8Array, void, undefined> {
    const size = chunkSize > 0 ? chunkSize : DEFAULT_CHUNK_SIZE;
    await this.reopenIfOwned();
    const source = this.requireSource();
    if (source.seekable) this.position = 0;
    if (options.reuseBuffers && source.readInto) {
      // No larger than the file needs: a small file is not read into a megabyte (a size that is wrong,
      // as a /proc file's 0, only makes the pieces smaller).
      const bufferSize = Math.min(size, Math.max(source.size() ?? size, SMALLEST_REUSED_BUFFER));
      const buffers: Buffer[] = [];
      for (let index = 0; ; index = (index + 1) % REUSED_BUFFERS) {
        const buffer = (buffers[index] ??= Buffer.allocUnsafe(bufferSize));
        const bytesRead = await source.readInto(buffer, this.position);
        if (bytesRead === 0) return;
        this.position += bytesRead;
        yield buffer.subarray(0, bytesRead);
      }
    }
    for (;;) {
      const piece = await this.readAtPosition(source, size);
      if (piece.byteLength === 0) return;
      yield piece;
    }
  }

  /** Whether chunks(chunkSize) would yield more than one piece. */
  multipleChunks(chunkSize?: number): boolean {
    return this.size > (chunkSize && chunkSize > 0 ? chunkSize : DEFAULT_CHUNK_SIZE);
  }

  /** Lines as Django's File.__iter__ gives them: ends kept, `\n`, `\r\n` and a lone `\r` end a line. */
  async *lines(): AsyncGenerator<Uint8Array, void, undefined> {
    let carry = new Uint8Array(0);
    for await (const chunk of this.chunks()) {
      const data = carry.byteLength ? concatBytes([carry, chunk]) : chunk;
      let start = 0;
      for (let index = 0; index < data.byteLength; index++) {
        const byte = data[index];
        if (byte === 0x0a) {
          yield data.subarray(start, index + 1);
          start = index + 1;
        } else if (byte === 0x0d) {
          // A \r at the very end of a chunk may be the first half of \r\n: wait for the next chunk.
          if (index + 1 === data.byteLength) break;
          const end = data[index + 1] === 0x0a ? index + 2 : index + 1;
          yield data.subarray(start, end);
          start = end;
          index = end - 1;
        }
      }
      carry = data.slice(start);
    }
    if (carry.byteLength) yield carry;
  }

  /** Rewinds an open file, or reopens a closed one by its path (Django's File.open). */
  async open(): Promise<this> {
    if (!this.closed) {
      if (this.requireSource().seekable) this.position = 0;
      return this;
    }
    if (!this.name) throw new Error(NO_FILE);
    let handle: FileHandle;
    try {
      handle = await openFile(this.name, 'r');
    } catch {
      throw new Error(NO_FILE);
    }
    this.source = byteSourceOf(handle);
    this.position = 0;
    return this;
  }

  async close(): Promise<void> {
    this.reopenOnRead = false;
    await this.source?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  toString(): string {
    return this.name ?? '';
  }

  [inspect.custom](): string {
    const size = this.sizeIfKnown;
    const details = size === undefined ? '' : ` (${formatBytes(size)})`;
    return `<${this.constructor.name}: ${this.name || 'None'}${details}>`;
  }

  /** Reads through another File's bytes from now on (how a FieldFile takes the File its storage opened). */
  protected adoptSource(other: File): void {
    this.source = other.source;
    this.position = 0;
    this.knownSize = other.knownSize;
  }

  protected requireSource(): ByteSource {
    if (this.source === null || this.source.closed) throw new Error('I/O operation on closed file.');
    return this.source;
  }

  private async readAtPosition(source: ByteSource, length: number): Promise<Uint8Array> {
    const piece = await source.read(length, this.position);
    this.position += piece.byteLength;
    return piece;
  }
}

/**
 * The regular file at `path` opened at once, for the local storage's reads (null where it is something
 * else); `check` sees its descriptor first (see OpenedFileSource.open). The File owns the descriptor.
 */
export function openRegularFile(path: string, name: string | null, check?: (fd: number) => void): File | null {
  const source = OpenedFileSource.open(path, check);
  if (source === null) return null;
  const file = new File(null, name);
  Object.assign(file, { source });
  return file;
}

/** In-memory content; text is stored as UTF-8, and `size` counts bytes. */
export class ContentFile extends File {
  constructor(content: string | Uint8Array, name: string | null = null) {
    super(null, name);
    const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
    this.source = new MemorySource(bytes);
  }

  override toString(): string {
    return 'Raw content';
  }
}

function defaultNameOf(source: FileSource | null, byteSource: ByteSource | null): string | null {
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    const name = (source as { name?: unknown }).name;
    return typeof name === 'string' && name !== '' ? name : null;
  }
  return byteSource?.path ?? null;
}

export function concatBytes(pieces: readonly Uint8Array[]): Uint8Array {
  if (pieces.length === 1) return pieces[0]!;
  const total = pieces.reduce((sum, piece) => sum + piece.byteLength, 0);
  const result = new Uint8Array(total);
  let offset = 0;
  for (const piece of pieces) {
    result.set(piece, offset);
    offset += piece.byteLength;
  }
  return result;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
