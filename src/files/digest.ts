/**
 * A File that tells when all of its bytes have been read, with their size and SHA-256, before it hands out
 * the last piece: whoever stores the pieces cannot have all of them (so cannot publish the file) until the
 * callback is done. The upload journal uses it to learn which bytes a save wrote, and under which name,
 * before they can appear under that name.
 */
import { createHash } from 'node:crypto';
import { File } from './File.ts';

export interface ContentDigest {
  size: number;
  /** Lower-case hex. */
  sha256: string;
}

export class DigestReportingFile extends File {
  constructor(private readonly inner: File, private readonly onComplete: (digest: ContentDigest) => Promise<void>) {
    super(inner);
  }

  override peekStart(length: number): Promise<Uint8Array> {
    return this.inner.peekStart(length);
  }

  override async *chunks(chunkSize?: number): AsyncGenerator<Uint8Array, void, undefined> {
    const hash = createHash('sha256');
    let size = 0;
    // One piece is held back until the next one is read, so that the last one goes out after onComplete.
    let held: Uint8Array | undefined;
    for await (const chunk of this.inner.chunks(chunkSize)) {
      if (held) yield held;
      hash.update(chunk);
      size += chunk.byteLength;
      held = chunk;
    }
    await this.onComplete({ size, sha256: hash.digest('hex') });
    if (held) yield held;
  }
}

/** The digest of every byte `chunks` yields. */
export async function digestOf(chunks: AsyncIterable<Uint8Array>): Promise<ContentDigest> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of chunks) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  return { size, sha256: hash.digest('hex') };
}
