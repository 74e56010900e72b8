/**
 * Direct uploads to a local storage: a PUT to a URL from storage.signedUploadUrl() (signed, expiring, with
 * its size limit and content type), streamed into the storage under that name. The answer is JSON with the
 * name stored (another one when the name was taken meanwhile), which the page then gives attachUploaded().
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { FileTooLarge, OutOfSpaceError, SuspiciousOperation, ValidationError } from '../errors.ts';
import { File } from '../files/File.ts';
import { withSizeLimit } from '../files/limits.ts';
import { verifySignedUpload } from '../storage/signing.ts';
import type { Storage } from '../storage/Storage.ts';

function sendJson(response: ServerResponse, status: number, body: Record<string, unknown>): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  response.end(text);
}

export async function acceptSignedUpload(request: IncomingMessage, response: ServerResponse, storage: Storage, name: string, signedPath: string): Promise<void> {
  const check = verifySignedUpload(signedPath);
  if (!check.valid) {
    sendJson(response, 403, { error: check.reason === 'expired' ? 'This upload link has expired.' : 'This upload link is not valid.' });
    return;
  }
  const given = request.headers['content-type']?.split(';')[0]!.trim();
  if (check.contentType !== undefined && given !== check.contentType) {
    sendJson(response, 403, { error: `This upload link is for ${check.contentType} content, not ${given ?? 'content without a type'}.` });
    return;
  }
  try {
    const body = new File(request, name);
    const declared = Number(request.headers['content-length']);
    if (Number.isSafeInteger(declared)) body.size = declared;
    const content = check.maxSize === undefined ? body : withSizeLimit(body, check.maxSize);
    const stored = await storage.save(name, content, check.contentType === undefined ? {} : { contentType: check.contentType });
    sendJson(response, 201, { name: stored });
  } catch (error) {
    request.resume();
    if (error instanceof FileTooLarge) sendJson(response, 413, { error: error.message });
    else if (error instanceof OutOfSpaceError) sendJson(response, 507, { error: 'The server is out of space.' });
    else if (error instanceof ValidationError || error instanceof SuspiciousOperation) sendJson(response, 400, { error: error.message });
    else throw error;
  }
}
