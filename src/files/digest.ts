/**
 * A File that tells when all of its bytes have been read, with their size and SHA-256, before it hands out
 * the last piece: whoever stores the pieces cannot have all of them (so cannot publish the file) until the
 * callback is done. The upload journal uses it to learn which bytes a save wrote, and under which name,
 * before they can appear under that name.
 */
import { createHash } from 'node:crypto';
import { File, type ChunkOptions } from './File.ts';

export interface ContentDigest {
  size: number;
  /** Lower-case hex. */
  sha256: string;
}

export class DigestReportingFile extends File {
  private digest: ContentDigest | undefined;

  /** `report` is awaited with `name` and the digest once every byte is read (and again by renamed()). */
  constructor(
    private readonly inner: File,
    private name_: string,
    private readonly report: (name: string, digest: ContentDigest) => Promise<void>,
  ) {
    super(inner);
  }

  override peekStart(length: number): Promise<Uint8Array> {
    return this.inner.peekStart(length);
  }

  /** Holds one piece back: reused buffers (ChunkOptions) allow that. */
  override async *chunks(chunkSize?: number, options?: ChunkOptions): AsyncGenerator<Uint8Array, void, undefined> {
    const hash = createHash('sha256');
    let size = 0;
    // One piece is held back until the next one is read, so that the last one goes out after the report.
    let held: Uint8Array | undefined;
    for await (const chunk of this.inner.chunks(chunkSize, options)) {
      if (held) yield held;
      hash.update(chunk);
      size += chunk.byteLength;
      held = chunk;
    }
    this.digest = { size, sha256: hash.digest('hex') };
    await this.report(this.name_, this.digest);
    if (held) yield held;
  }

  /**
   * The backend found the name taken at the last moment and publishes under `name` instead: reported again
   * (with the same bytes) before it does.
   */
  async renamed(name: string): Promise<void> {
    this.name_ = name;
    if (this.digest) await this.report(name, this.digest);
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
