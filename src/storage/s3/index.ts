/**
 * S3Storage: files as objects of an S3 bucket (AWS S3, or any S3-compatible service: MinIO, Cloudflare R2,
 * DigitalOcean Spaces, Ceph), django-storages' S3Storage in TypeScript. The I/O is S3Driver's.
 *
 * Importing this module loads no SDK: @aws-sdk/* is imported on the first request (see sdk.ts), and url()
 * signs locally (sigv4.ts) so that it stays synchronous like Django's.
 */
import { Storage } from '../Storage.ts';
import { S3Driver } from './driver.ts';
import { nameOfKey } from './keys.ts';
import { resolveS3Options, type ResolvedS3Options, type S3StorageOptions, type S3UploadParameters } from './options.ts';
import type { UploadParameters } from './upload.ts';

export { S3StorageError } from './errors.ts';
export type { S3ObjectParameters, S3StorageOptions, S3UploadParameters } from './options.ts';

export class S3Storage extends Storage {
  // Private, not the base's protected `driver`: the declarations of this class then need no SDK types.
  private readonly s3: S3Driver;

  constructor(options: S3StorageOptions = {}) {
    const driver = new S3Driver(Object.freeze(resolveS3Options(options)));
    super(driver);
    this.s3 = driver;
    this.s3.parametersFor = (key, headers, replace) => {
      const base = this.s3.uploadParameters(key, headers, replace);
      const custom = this.uploadParameters(nameOfKey(this.settings.location, key), String(base.ContentType ?? ''));
      const metadata = base.Metadata || custom.Metadata ? { Metadata: { ...base.Metadata, ...(custom.Metadata as Record<string, string> | undefined) } } : {};
      return { ...base, ...custom, ...metadata } as UploadParameters;
    };
  }

  /**
   * The parameters of every upload of `name` (django-storages' get_object_parameters): override to vary them
   * per file. The object headers given to save() come on top of the defaults and below what this returns.
   */
  protected uploadParameters(name: string, contentType: string): S3UploadParameters {
    return this.s3.uploadParameters(this.keyOf(name), { contentType }, this.replacesExistingFiles) as S3UploadParameters;
  }

  /** The options after defaults and environment variables were applied. */
  get settings(): Readonly<ResolvedS3Options> {
    return this.s3.settings;
  }

  /**
   * The SDK's S3Client (created, and the SDK loaded, on first use), for what this class does not cover. Typed
   * `object` so that filefield's types need no SDK: `(await storage.client()) as S3Client`.
   */
  client(): Promise<object> {
    return this.s3.client();
  }

  /** The object key of a storage name; names that would leave the location are refused. */
  override keyOf(name: string): string {
    return this.s3.keyOf(name);
  }
}
