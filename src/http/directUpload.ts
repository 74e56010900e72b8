/**
 * Direct uploads to a local storage: a PUT to a URL from storage.signedUploadUrl() (signed, expiring, with
 * its size limit and content type), streamed into the storage under that name. The answer is JSON with the
 * name stored (another one when the name was taken meanwhile), which the page then gives attachUploaded().
 */
import type { Readable } from 'node:stream';
import { FileTooLarge, SuspiciousOperation, ValidationError, isOutOfSpace } from '../errors.ts';
import { File } from '../files/File.ts';
import { withSizeLimit } from '../files/limits.ts';
import { verifySignedUpload } from '../storage/signing.ts';
import type { Storage } from '../storage/Storage.ts';
import { jsonAnswer, type HttpAnswer } from './answer.ts';

export interface SignedUploadRequest {
  /** The storage name the URL is for (checked as any media name is). */
  name: string;
  /** The request path and query, as signed. */
  signedPath: string;
  contentType: string | undefined;
  contentLength: string | undefined;
  /** The request body, opened only once the signature holds. */
  body: () => Readable;
}

export async function acceptSignedUpload(upload: SignedUploadRequest, storage: Storage): Promise<HttpAnswer> {
  const check = verifySignedUpload(upload.signedPath);
  if (!check.valid) {
    return jsonAnswer(403, { error: check.reason === 'expired' ? 'This upload link has expired.' : 'This upload link is not valid.' }, { Connection: 'close' });
  }
  const given = upload.contentType?.split(';')[0]!.trim();
  if (check.contentType !== undefined && given !== check.contentType) {
    return jsonAnswer(403, { error: `This upload link is for ${check.contentType} content, not ${given ?? 'content without a type'}.` }, { Connection: 'close' });
  }
  const stream = upload.body();
  try {
    const body = new File(stream, upload.name);
    const declared = Number(upload.contentLength);
    if (Number.isSafeInteger(declared)) body.size = declared;
    const content = check.maxSize === undefined ? body : withSizeLimit(body, check.maxSize);
    const stored = await storage.save(upload.name, content, check.contentType === undefined ? {} : { contentType: check.contentType });
    return jsonAnswer(201, { name: stored });
  } catch (error) {
    stream.resume();
    // The rest of a refused body is not read: the connection cannot carry another request.
    if (error instanceof FileTooLarge) return jsonAnswer(413, { error: error.message }, { Connection: 'close' });
    if (isOutOfSpace(error)) return jsonAnswer(507, { error: 'The server is out of space.' }, { Connection: 'close' });
    if (error instanceof ValidationError || error instanceof SuspiciousOperation) return jsonAnswer(400, { error: error.message }, { Connection: 'close' });
    throw error;
  }
}
