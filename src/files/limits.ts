/**
 * The upload size limit, enforced while the bytes stream: a source longer than its announced size
 * (or of unknown size) is stopped as soon as it passes the limit, before anything is kept.
 */
import { FileTooLarge } from '../errors.ts';
import { File, type ChunkOptions } from './File.ts';

export class SizeLimitedFile extends File {
  constructor(private readonly inner: File, readonly maxSize: number) {
    super(inner);
  }

  // Read through the wrapped File itself: one that opens on first use (a FieldFile) has no bytes to share yet.
  override peekStart(length: number): Promise<Uint8Array> {
    return this.inner.peekStart(length);
  }

  override async *chunks(chunkSize?: number, options?: ChunkOptions): AsyncGenerator<Uint8Array, void, undefined> {
    let total = 0;
    for await (const chunk of this.inner.chunks(chunkSize, options)) {
      total += chunk.byteLength;
      if (total > this.maxSize) throw new FileTooLarge(this.maxSize);
      yield chunk;
    }
  }
}

/** The file as it may be stored under `maxSize` bytes: refused now if its known size is over, else checked as it streams. */
export function withSizeLimit(file: File, maxSize: number | null | undefined): File {
  if (maxSize === null || maxSize === undefined) return file;
  const knownSize = file.sizeIfKnown;
  if (knownSize !== undefined && knownSize > maxSize) throw new FileTooLarge(maxSize);
  return new SizeLimitedFile(file, maxSize);
}

/** The limit a file carries, if it was wrapped by withSizeLimit (for backends that copy without chunks()). */
export function sizeLimitOf(file: File): number | undefined {
  return file instanceof SizeLimitedFile ? file.maxSize : undefined;
}
