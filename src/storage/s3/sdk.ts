/**
 * The AWS SDK, loaded on first use only: importing filefield/storage/s3 (or configuring an s3 storage)
 * must cost nothing until a request is made, and the SDK stays an optional install for projects without S3.
 */
import type * as ClientS3 from '@aws-sdk/client-s3';
import type * as LibStorage from '@aws-sdk/lib-storage';
import type * as RequestPresigner from '@aws-sdk/s3-request-presigner';
import { ImproperlyConfigured } from '../../errors.ts';
import type { ResolvedS3Options } from './options.ts';

const PACKAGES = '@aws-sdk/client-s3 @aws-sdk/lib-storage @aws-sdk/s3-request-presigner';

function missing(packageName: string, error: unknown): ImproperlyConfigured {
  return new ImproperlyConfigured(
    `S3Storage needs the package ${packageName}, which could not be loaded (${(error as Error).message}). `
      + `Install the AWS SDK with: npm install ${PACKAGES}`,
    { cause: error },
  );
}

let clientModule: Promise<typeof ClientS3> | undefined;
let uploadModule: Promise<typeof LibStorage> | undefined;
let presignerModule: Promise<typeof RequestPresigner> | undefined;

export function loadClientS3(): Promise<typeof ClientS3> {
  clientModule ??= import('@aws-sdk/client-s3').catch((error: unknown) => {
    clientModule = undefined;
    throw missing('@aws-sdk/client-s3', error);
  });
  return clientModule;
}

export function loadLibStorage(): Promise<typeof LibStorage> {
  uploadModule ??= import('@aws-sdk/lib-storage').catch((error: unknown) => {
    uploadModule = undefined;
    throw missing('@aws-sdk/lib-storage', error);
  });
  return uploadModule;
}

export function loadPresigner(): Promise<typeof RequestPresigner> {
  presignerModule ??= import('@aws-sdk/s3-request-presigner').catch((error: unknown) => {
    presignerModule = undefined;
    throw missing('@aws-sdk/s3-request-presigner', error);
  });
  return presignerModule;
}

/** An S3 client for the resolved options. */
export async function createS3Client(options: ResolvedS3Options): Promise<ClientS3.S3Client> {
  const { S3Client } = await loadClientS3();
  const config: ClientS3.S3ClientConfig = {
    region: options.region,
    forcePathStyle: options.forcePathStyle,
    requestHandler: {
      connectionTimeout: options.connectTimeout,
      ...(options.requestTimeout === undefined ? {} : { requestTimeout: options.requestTimeout }),
    },
  };
  if (options.endpoint) config.endpoint = options.endpoint.href.replace(/\/$/, '');
  if (options.credentials) config.credentials = { ...options.credentials };
  if (options.requestChecksumCalculation) config.requestChecksumCalculation = options.requestChecksumCalculation;
  if (options.responseChecksumValidation) config.responseChecksumValidation = options.responseChecksumValidation;
  if (options.maxAttempts !== undefined) config.maxAttempts = options.maxAttempts;
  return new S3Client(config);
}
