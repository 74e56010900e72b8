/**
 * S3Storage: files as objects of an S3 bucket (AWS S3, or any S3-compatible service: MinIO, Cloudflare R2,
 * DigitalOcean Spaces, Ceph), django-storages' S3Storage in TypeScript. The I/O is S3Driver's.
 *
 * Importing this module loads no SDK: @aws-sdk/* is imported on the first request (see sdk.ts), and url()
 * signs locally (sigv4.ts) so that it stays synchronous like Django's.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { Storage } from '../Storage.ts';
import { S3Driver } from './driver.ts';
import { resolveS3Options, type ResolvedS3Options, type S3StorageOptions } from './options.ts';

export { S3StorageError } from './errors.ts';
export type { S3ObjectParameters, S3StorageOptions } from './options.ts';

export class S3Storage extends Storage {
  declare protected readonly driver: S3Driver;

  constructor(options: S3StorageOptions = {}) {
    super(new S3Driver(Object.freeze(resolveS3Options(options))));
  }

  /** The options after defaults and environment variables were applied. */
  get settings(): Readonly<ResolvedS3Options> {
    return this.driver.settings;
  }

  /** The SDK client (created, and the SDK loaded, on first use), for what this class does not cover. */
  client(): Promise<S3Client> {
    return this.driver.client();
  }

  /** The object key of a storage name; names that would leave the location are refused. */
  override keyOf(name: string): string {
    return this.driver.keyOf(name);
  }
}
