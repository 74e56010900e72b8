/**
 * Sending a File's bytes to one key: a single PUT when the content fits in one part, else a multipart
 * upload through lib-storage's Upload fed by a stream over content.chunks(). Memory stays at a few parts
 * (the ones in flight, the one being filled) whatever the file's size.
 *
 * A failure of the source (a FileTooLarge from the size limit, a broken stream) is rethrown as it was, so that
 * callers can tell it from a failure of the server. A failed multipart upload is aborted, so no object and no
 * stored parts are left (an incomplete multipart upload never becomes an object, even where aborting fails).
 */
import { Readable } from 'node:stream';
import type { PutObjectCommandInput, S3Client } from '@aws-sdk/client-s3';
import type { File } from '../../files/File.ts';
import { loadClientS3, loadLibStorage } from './sdk.ts';

/**
 * Pieces read from the source. A stream's own pieces pass through uncopied at this size (a larger one would
 * copy them together first, only for lib-storage to copy them again into its part buffer).
 */
const READ_CHUNK_SIZE = 64 * 1024;

/** Every PutObject parameter but the body, the same for each attempt. */
export type UploadParameters = Omit<PutObjectCommandInput, 'Body' | 'ContentLength'>;

/** The content after its first part was read: whole (fits one PUT) or a head and a rest still to stream. */
export type PreparedContent =
  | { kind: 'whole'; body: Buffer }
  | { kind: 'stream'; head: Uint8Array[]; rest: AsyncIterator<Uint8Array> };

/** Where a failure of the source is kept, to tell it from a failure of the upload that it caused. */
export class SourceGuard {
  failed = false;
  error: unknown;

  wrap(iterator: AsyncIterator<Uint8Array>): AsyncIterator<Uint8Array> {
    return {
      next: async () => {
        try {
          return await iterator.next();
        } catch (error) {
          this.failed = true;
          this.error = error;
          throw error;
        }
      },
      return: async () => (await iterator.return?.()) ?? { done: true, value: undefined },
    };
  }
}

/** Reads the content until it is known to be larger than one part, or has ended. */
export async function prepareContent(content: File, partSize: number, guard: SourceGuard): Promise<PreparedContent> {
  const iterator = guard.wrap(content.chunks(READ_CHUNK_SIZE)[Symbol.asyncIterator]());
  const head: Uint8Array[] = [];
  let headBytes = 0;
  while (headBytes <= partSize) {
    const { value, done } = await iterator.next();
    if (done) return { kind: 'whole', body: Buffer.concat(head) };
    head.push(value);
    headBytes += value.byteLength;
  }
  return { kind: 'stream', head, rest: iterator };
}

async function* concatenated(head: Uint8Array[], rest: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield* head;
  // The head's pieces are handed on once; drop them so that they can be freed while the upload goes on.
  head.length = 0;
  for (;;) {
    const { value, done } = await rest.next();
    if (done) return;
    yield value;
  }
}

export async function putWhole(client: S3Client, parameters: UploadParameters, body: Buffer): Promise<void> {
  const { PutObjectCommand } = await loadClientS3();
  await client.send(new PutObjectCommand({ ...parameters, Body: body, ContentLength: body.byteLength }));
}

/**
 * A multipart upload of a streamed content. `If-None-Match` in the parameters reaches the final
 * CompleteMultipartUpload, so the object appears only if the name is still free when all parts are in.
 */
export async function putStreamed(
  client: S3Client,
  parameters: UploadParameters,
  content: Extract<PreparedContent, { kind: 'stream' }>,
  options: { partSize: number; queueSize: number },
): Promise<void> {
  const [{ Upload }, { AbortMultipartUploadCommand }] = await Promise.all([loadLibStorage(), loadClientS3()]);
  const body = Readable.from(concatenated(content.head, content.rest), { objectMode: false });
  const upload = new Upload({
    client,
    params: { ...parameters, Body: body },
    partSize: options.partSize,
    queueSize: options.queueSize,
    // Aborting is done below, where its own failure cannot hide the error that caused it.
    leavePartsOnError: true,
  });
  try {
    await upload.done();
  } catch (error) {
    body.destroy();
    if (upload.uploadId !== undefined) {
      await client
        .send(new AbortMultipartUploadCommand({ Bucket: parameters.Bucket, Key: parameters.Key, UploadId: upload.uploadId }))
        .catch(() => undefined); // some servers (s3rver) cannot abort; the parts never become an object anyway
    }
    throw error;
  }
}
