/**
 * S3Storage.save of a large local file against s3rver, beside a bare lib-storage Upload of the same file:
 * what the storage layer costs in time and memory over the SDK alone.
 *
 * s3rver runs in a child process, so the RSS figures are the client's. Run alone with
 * `node --import tsx bench/s3.ts [MiB]` or through bench/run.ts.
 */
import { closeSync, createReadStream, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ContentFile, File } from '../src/index.ts';
import { S3Storage, type S3StorageOptions } from '../src/storage/s3/index.ts';
import { measure, MiB, type Measured } from './measure.ts';
import { S3RVER_CREDENTIALS, startS3rver, type RunningS3rver } from '../test/support/s3rver.ts';

const DEFAULT_SIZE_MiB = 512;
const ROUNDS = 2;

/** Writes `bytes` of varied content to `path`, one reused MiB buffer at a time. */
function writeGeneratedFile(path: string, bytes: number): void {
  const piece = Buffer.alloc(MiB);
  const fd = openSync(path, 'w');
  try {
    for (let written = 0, index = 0; written < bytes; index++) {
      for (let offset = 0; offset < piece.byteLength; offset += 4096) piece.writeUInt32LE((index * 2654435761 + offset) >>> 0, offset);
      const length = Math.min(piece.byteLength, bytes - written);
      writeSync(fd, piece, 0, length);
      written += length;
    }
  } finally {
    closeSync(fd);
  }
}

function describe(label: string, result: Measured, sizeMiB: number, baseline?: Measured): string {
  const ratio = baseline ? `, ${(result.seconds / baseline.seconds).toFixed(2)}× the bare Upload's time` : '';
  return `${label}: ${result.seconds.toFixed(2)} s (${(sizeMiB / result.seconds).toFixed(0)} MiB/s)${ratio}; `
    + `peak RSS ${result.peakRssMiB.toFixed(0)} MiB (at most +${result.growthMiB.toFixed(0)} MiB during an upload)`;
}

export async function benchS3(report: (line: string) => void, options: { sizeMiB?: number } = {}): Promise<void> {
  const sizeMiB = options.sizeMiB ?? DEFAULT_SIZE_MiB;
  const workspace = await mkdtemp(join(tmpdir(), 'filefield-bench-s3-'));
  let server: RunningS3rver | undefined;
  try {
    const source = join(workspace, 'source.bin');
    writeGeneratedFile(source, sizeMiB * MiB);
    server = await startS3rver();
    const base: S3StorageOptions = { bucket: server.bucket, endpoint: server.endpoint, ...S3RVER_CREDENTIALS };
    const storage = new S3Storage(base);
    // Same parallelism as lib-storage's default (4 parts of 5 MiB): the difference is then the storage layer's.
    const matched = new S3Storage({ ...base, maxMemorySize: 40 * MiB });
    const client = new S3Client({
      region: 'us-east-1',
      endpoint: server.endpoint,
      forcePathStyle: true,
      credentials: { ...S3RVER_CREDENTIALS },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    // Load every module and open connections before timing anything.
    await storage.save('warm-up.bin', new ContentFile(new Uint8Array(6 * MiB)));
    await storage.delete('warm-up.bin');

    report(`${sizeMiB} MiB file from the local disk to s3rver (127.0.0.1, child process), parts of 5 MiB; best of ${ROUNDS} rounds`);
    const cases: Array<{ label: string; upload: () => Promise<string>; remove: (key: string) => Promise<void> }> = [
      {
        label: 'lib-storage Upload, fs.createReadStream (4 parts in parallel)',
        upload: async () => {
          await new Upload({ client, params: { Bucket: server!.bucket, Key: 'bare.bin', Body: createReadStream(source) } }).done();
          return 'bare.bin';
        },
        remove: (key) => storage.delete(key),
      },
      {
        label: 'S3Storage.save(name, new File(fd)), defaults (2 parts in parallel)',
        upload: () => storage.save('storage.bin', new File(openSync(source, 'r'))),
        remove: (name) => storage.delete(name),
      },
      {
        label: 'S3Storage.save, maxMemorySize 40 MiB (4 parts in parallel)',
        upload: () => matched.save('matched.bin', new File(openSync(source, 'r'))),
        remove: (name) => matched.delete(name),
      },
    ];
    const best = new Map<string, Measured>();
    // Rounds interleave the cases so that a warmer disk cache or server favours none of them.
    for (let round = 0; round < ROUNDS; round++) {
      for (const { label, upload, remove } of cases) {
        let stored = '';
        const result = await measure(async () => {
          stored = await upload();
        }, 10);
        if ((await storage.size(stored)) !== sizeMiB * MiB) throw new Error(`${label}: the stored size differs from the source.`);
        await remove(stored);
        const previous = best.get(label);
        best.set(label, previous === undefined ? result : {
          seconds: Math.min(previous.seconds, result.seconds),
          peakRssMiB: Math.max(previous.peakRssMiB, result.peakRssMiB),
          growthMiB: Math.max(previous.growthMiB, result.growthMiB),
        });
      }
    }
    const baseline = best.get(cases[0]!.label)!;
    for (const [index, { label }] of cases.entries()) report(describe(label, best.get(label)!, sizeMiB, index === 0 ? undefined : baseline));
    report(`process peak RSS over the whole bench (getrusage): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
  } finally {
    await server?.stop();
    await rm(workspace, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const sizeMiB = process.argv[2] ? Number(process.argv[2]) : undefined;
  await benchS3((line) => console.log(line), sizeMiB === undefined ? {} : { sizeMiB });
}
