/**
 * A real S3-protocol server for tests and benchmarks: s3rver in a child process (so its memory and CPU are
 * not counted as the client's), on 127.0.0.1 at a free port, over a temporary folder removed on stop().
 * s3rver accepts the fixed credentials S3RVER / S3RVER.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface S3rverOptions {
  /** Buckets to create (default: one, 'test-bucket'); the first is returned as `bucket`. */
  buckets?: string[];
  /**
   * Honour `If-None-Match: *` on writes as AWS S3, MinIO and R2 do (default true). false gives s3rver as it is,
   * a server that ignores the header.
   */
  conditionalWrites?: boolean;
}

export interface RunningS3rver {
  endpoint: string;
  bucket: string;
  stop(): Promise<void>;
}

const CHILD_ENTRY = fileURLToPath(new URL('./s3rverProcess.ts', import.meta.url));
const STARTUP_TIMEOUT_MS = 20_000;

export async function startS3rver(options: S3rverOptions = {}): Promise<RunningS3rver> {
  const buckets = options.buckets ?? ['test-bucket'];
  const directory = await mkdtemp(join(tmpdir(), 'filefield-s3rver-'));
  // s3rver encrypts its ListObjectsV2 continuation tokens with DES, which OpenSSL 3 keeps in its legacy provider.
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '--import', 'tsx', CHILD_ENTRY], {
    env: {
      ...process.env,
      S3RVER_DIRECTORY: directory,
      S3RVER_BUCKETS: buckets.join(','),
      S3RVER_CONDITIONAL_WRITES: options.conditionalWrites === false ? '0' : '1',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await rm(directory, { recursive: true, force: true });
  };

  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`s3rver did not start within ${STARTUP_TIMEOUT_MS} ms.\n${stderr}`)), STARTUP_TIMEOUT_MS);
      const lines = createInterface({ input: child.stdout });
      lines.once('line', (line) => {
        clearTimeout(timer);
        lines.close();
        try {
          resolve((JSON.parse(line) as { port: number }).port);
        } catch {
          reject(new Error(`s3rver said ${JSON.stringify(line)} instead of its port.\n${stderr}`));
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`s3rver exited before it started (code ${child.exitCode}).\n${stderr}`));
      });
    });
    return { endpoint: `http://127.0.0.1:${port}`, bucket: buckets[0]!, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
