/**
 * The child process behind startS3rver(): s3rver on 127.0.0.1 at a free port, with a temporary data folder
 * and one bucket. It prints `{"port":…}` as its first line of output once it accepts requests.
 *
 * s3rver ignores `If-None-Match: *` on writes, which AWS S3, MinIO and R2 honour (conditional writes, 2024).
 * With S3RVER_CONDITIONAL_WRITES=1 a thin front answers such writes the way those servers do, 412
 * PreconditionFailed when the key exists, one write per key at a time, so the storage's no-overwrite path can
 * be tested against real HTTP. The front does nothing else: every other request reaches s3rver untouched.
 *
 * Environment: S3RVER_DIRECTORY (required), S3RVER_BUCKETS (comma-separated), S3RVER_CONDITIONAL_WRITES.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { requireTool } from './tools.ts';

const S3rver = requireTool('s3rver');

interface ObjectStore {
  existsObject(bucket: string, key: string): Promise<boolean>;
}

const directory = process.env.S3RVER_DIRECTORY;
if (!directory) throw new Error('S3RVER_DIRECTORY is not set.');
const buckets = (process.env.S3RVER_BUCKETS ?? 'test-bucket').split(',').filter(Boolean);
const conditionalWrites = process.env.S3RVER_CONDITIONAL_WRITES === '1';

const s3rver = new S3rver({
  silent: true,
  directory,
  configureBuckets: buckets.map((name) => ({ name, configs: [] })),
  // The requests use the IP address, so virtual-host parsing is never wanted.
  vhostBuckets: false,
});
await s3rver.configureBuckets();
const handleWithS3rver: (request: IncomingMessage, response: ServerResponse) => void = s3rver.callback();
const store: ObjectStore = s3rver.store;

/** Conditional writes in progress, by bucket and key: the next one for a key waits for the previous one. */
const writesInProgress = new Map<string, Promise<void>>();

function preconditionFailed(request: IncomingMessage, response: ServerResponse): void {
  // Read the body first so that the client is not cut off in the middle of sending it.
  request.resume();
  request.on('end', () => {
    response.writeHead(412, { 'Content-Type': 'application/xml' });
    response.end(
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code>'
        + '<Message>At least one of the pre-conditions you specified did not hold</Message>'
        + '<Condition>If-None-Match</Condition></Error>',
    );
  });
}

/** PUT /bucket/key and POST /bucket/key?uploadId=… (CompleteMultipartUpload) with `If-None-Match: *`. */
function conditionalTarget(request: IncomingMessage): { bucket: string; key: string } | null {
  if (request.headers['if-none-match'] !== '*') return null;
  const url = new URL(request.url ?? '/', 'http://s3rver.invalid');
  const isPut = request.method === 'PUT' && !url.searchParams.has('uploadId') && !url.searchParams.has('partNumber');
  const isComplete = request.method === 'POST' && url.searchParams.has('uploadId');
  if (!isPut && !isComplete) return null;
  const [, bucket, ...keyParts] = url.pathname.split('/');
  if (!bucket || keyParts.length === 0) return null;
  return { bucket: decodeURIComponent(bucket), key: keyParts.map(decodeURIComponent).join('/') };
}

function handle(request: IncomingMessage, response: ServerResponse): void {
  const target = conditionalWrites ? conditionalTarget(request) : null;
  if (target === null) {
    handleWithS3rver(request, response);
    return;
  }
  const lockKey = `${target.bucket}/${target.key}`;
  const previous = writesInProgress.get(lockKey) ?? Promise.resolve();
  const current = previous.then(async () => {
    if (await store.existsObject(target.bucket, target.key)) {
      preconditionFailed(request, response);
      return;
    }
    await new Promise<void>((resolve) => {
      response.on('close', resolve);
      handleWithS3rver(request, response);
    });
  });
  const settled = current.catch(() => undefined);
  writesInProgress.set(lockKey, settled);
  void settled.then(() => {
    if (writesInProgress.get(lockKey) === settled) writesInProgress.delete(lockKey);
  });
}

const server = createServer(handle);
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});

function shutDown(): void {
  server.close(() => process.exit(0));
  server.closeAllConnections();
}
process.on('SIGTERM', shutDown);
process.on('SIGINT', shutDown);
// Ends with the parent, even when the parent is killed without cleaning up.
process.stdin.on('end', shutDown);
process.stdin.resume();
