/**
 * S3Storage: files as objects of an S3 bucket (AWS S3, or any S3-compatible service: MinIO, Cloudflare R2,
 * DigitalOcean Spaces, Ceph), django-storages' S3Storage in TypeScript.
 *
 * Importing this module loads no SDK: @aws-sdk/* is imported on the first request (see sdk.ts), and url()
 * signs locally (sigv4.ts) so that it stays synchronous like Django's.
 *
 * No-overwrite saves use a conditional write (`If-None-Match: *`): the server refuses to create an object
 * whose key exists, so two concurrent saves of one name never overwrite each other; the loser takes another
 * name. A server that ignores the header (older MinIO or Ceph, s3rver) leaves a window between the exists()
 * check and the write in which a concurrent save of the same name can overwrite; see docs/s3.md.
 */
import type { Readable } from 'node:stream';
import type { HeadObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { ImproperlyConfigured } from '../../errors.ts';
import { File } from '../../files/File.ts';
import { sniffContentType } from '../../files/contentType.ts';
import { Storage, type SignedUrlOptions } from '../Storage.ts';
import { customDomainUrl, objectUrl } from './addressing.ts';
import {
  S3StorageError, explainS3Error, httpStatusOf, isBodilessHttpError, isConditionalConflict, isPreconditionFailed,
  type S3ErrorContext, type S3FailureExplanation,
} from './errors.ts';
import { folderPrefixOf, keyOf, nameOfKey } from './keys.ts';
import { MAX_PRESIGN_SECONDS, resolveS3Options, type ResolvedS3Options, type S3StorageOptions, type S3UploadParameters } from './options.ts';
import { createS3Client, loadClientS3, loadPresigner } from './sdk.ts';
import { presignUrl } from './sigv4.ts';
import { SourceGuard, prepareContent, putStreamed, putWhole, type UploadParameters } from './upload.ts';

export { S3StorageError } from './errors.ts';
export type { S3ObjectParameters, S3StorageOptions, S3UploadParameters } from './options.ts';

/** S3 allows at most this many parts in one multipart upload. */
const MAX_PARTS = 10_000;
/** Names tried by one save before giving up (a server that refuses every conditional write must not loop us). */
const MAX_NAME_ATTEMPTS = 20;

export class S3Storage extends Storage {
  /** The options after defaults and environment variables were applied. */
  readonly settings: Readonly<ResolvedS3Options>;
  private clientPromise: Promise<S3Client> | undefined;

  constructor(options: S3StorageOptions = {}) {
    super();
    this.settings = Object.freeze(resolveS3Options(options));
  }

  /**
   * The SDK's S3Client (created, and the SDK loaded, on first use), for what this class does not cover. Typed
   * `object` so that filefield's types need no SDK: `(await storage.client()) as S3Client`.
   */
  client(): Promise<object> {
    return this.sdkClient();
  }

  private sdkClient(): Promise<S3Client> {
    this.clientPromise ??= createS3Client(this.settings).catch((error: unknown) => {
      this.clientPromise = undefined;
      throw error;
    });
    return this.clientPromise;
  }

  /** The object key of a storage name; names that would leave the location are refused. */
  keyOf(name: string): string {
    return keyOf(this.settings.location, name);
  }

  // Saving

  protected override get replacesExistingFiles(): boolean {
    return this.settings.fileOverwrite;
  }

  protected async _save(name: string, content: File): Promise<string> {
    const client = await this.sdkClient();
    const contentType = this.settings.objectParameters.ContentType ?? (await sniffContentType(content));
    // Parts grow for huge known sizes so that the upload stays within S3's part count.
    const partSize = Math.max(this.settings.multipartChunkSize, Math.ceil((content.sizeIfKnown ?? 0) / MAX_PARTS));
    // Each part in flight costs about twice its size (lib-storage copies the pieces of a part into one
    // buffer, and the pieces wait for the garbage collector): so many parts go in parallel within maxMemorySize.
    const queueSize = Math.max(1, Math.floor(this.settings.maxMemorySize / (2 * partSize)));
    const guard = new SourceGuard();
    let prepared = await prepareContent(content, partSize, guard);
    let currentName = name;
    for (let attempt = 1; ; attempt++) {
      const parameters = this.uploadParameters(currentName, contentType) as UploadParameters;
      try {
        if (prepared.kind === 'whole') await putWhole(client, parameters, prepared.body);
        else await putStreamed(client, parameters, prepared, { partSize, queueSize });
        return nameOfKey(this.settings.location, parameters.Key!);
      } catch (error) {
        if (guard.failed) throw guard.error;
        const nameTaken = isPreconditionFailed(error) || isConditionalConflict(error);
        if (this.settings.fileOverwrite || !nameTaken) throw this.failure('save', currentName, error);
        if (attempt === MAX_NAME_ATTEMPTS) {
          throw this.failure('save', name, error, {
            reason: `the server refused to create each of ${MAX_NAME_ATTEMPTS} free names in turn; does it support conditional writes?`,
          });
        }
        if (prepared.kind === 'stream') {
          if (!content.seekable) {
            throw this.failure('save', currentName, error, {
              reason: 'another save took the name while this upload ran, and the content (a stream) cannot be read '
                + 'again to store it under another name',
            });
          }
          prepared = await prepareContent(content, partSize, guard);
        }
        // Without maxLength, as FileSystemStorage does for the same race (Django's behaviour).
        currentName = await this.getAvailableName(currentName);
      }
    }
  }

  /** The parameters of every upload of `name`; override to vary them per name (django-storages' get_object_parameters). */
  protected uploadParameters(name: string, contentType: string): S3UploadParameters {
    const { objectParameters, defaultAcl, fileOverwrite, bucket } = this.settings;
    const parameters: Record<string, unknown> = { ...objectParameters, Bucket: bucket, Key: this.keyOf(name), ContentType: contentType };
    if (objectParameters.Metadata) parameters.Metadata = { ...objectParameters.Metadata };
    if (defaultAcl !== null) parameters.ACL = defaultAcl;
    if (!fileOverwrite) parameters.IfNoneMatch = '*';
    return parameters as S3UploadParameters;
  }

  // Reading

  protected async _open(name: string): Promise<File> {
    const client = await this.sdkClient();
    const { GetObjectCommand } = await loadClientS3();
    const key = this.keyOf(name);
    let response;
    try {
      response = await client.send(new GetObjectCommand({ Bucket: this.settings.bucket, Key: key }));
    } catch (error) {
      throw this.failure('open', name, error);
    }
    // In Node the body is an http.IncomingMessage: a Readable that File streams from, never buffered whole.
    const file = new File(response.Body as Readable, nameOfKey(this.settings.location, key));
    if (response.ContentLength !== undefined) file.size = response.ContentLength;
    return file;
  }

  override async exists(name: string): Promise<boolean> {
    const client = await this.sdkClient();
    const { HeadObjectCommand, ListObjectsV2Command } = await loadClientS3();
    const key = this.keyOf(name);
    if (key !== this.settings.location && !key.endsWith('/')) {
      try {
        await client.send(new HeadObjectCommand({ Bucket: this.settings.bucket, Key: key }));
        return true;
      } catch (error) {
        if (httpStatusOf(error) !== 404) throw await this.diagnosedFailure('exists', name, key, error);
      }
    }
    // No such object: the name still exists if it is a folder, that is, the prefix of some key. This also
    // tells a missing bucket (an error) from a missing file, which a HEAD cannot.
    try {
      const listing = await client.send(new ListObjectsV2Command({
        Bucket: this.settings.bucket,
        Prefix: folderPrefixOf(this.settings.location, name),
        MaxKeys: 1,
      }));
      if (key === this.settings.location) return true;
      return (listing.KeyCount ?? listing.Contents?.length ?? 0) > 0 || (listing.CommonPrefixes?.length ?? 0) > 0;
    } catch (error) {
      throw this.failure('exists', name, error);
    }
  }

  override async listdir(path: string): Promise<[string[], string[]]> {
    const client = await this.sdkClient();
    const { ListObjectsV2Command } = await loadClientS3();
    const prefix = folderPrefixOf(this.settings.location, path);
    const directories: string[] = [];
    const files: string[] = [];
    let continuationToken: string | undefined;
    do {
      let page;
      try {
        page = await client.send(new ListObjectsV2Command({
          Bucket: this.settings.bucket,
          Prefix: prefix,
          Delimiter: '/',
          ContinuationToken: continuationToken,
        }));
      } catch (error) {
        throw this.failure('listdir', path, error);
      }
      for (const { Prefix } of page.CommonPrefixes ?? []) {
        if (Prefix) directories.push(Prefix.slice(prefix.length, -1));
      }
      for (const { Key } of page.Contents ?? []) {
        // A key equal to the prefix is a folder marker made by some tools, not a file of the folder.
        if (Key && Key !== prefix) files.push(Key.slice(prefix.length));
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
    return [directories, files];
  }

  override async size(name: string): Promise<number> {
    return (await this.head('size', name)).ContentLength ?? 0;
  }

  override async getModifiedTime(name: string): Promise<Date> {
    return this.lastModified('getModifiedTime', name);
  }

  /** Objects are written whole and never changed in place, so an object was created when it was last written. */
  override async getCreatedTime(name: string): Promise<Date> {
    return this.lastModified('getCreatedTime', name);
  }

  /** S3 records no access times; the last write is the best known bound (django-storages has none at all). */
  override async getAccessedTime(name: string): Promise<Date> {
    return this.lastModified('getAccessedTime', name);
  }

  private async lastModified(operation: string, name: string): Promise<Date> {
    const modified = (await this.head(operation, name)).LastModified;
    if (!modified) throw this.failure(operation, name, new Error('the server sent no Last-Modified date'));
    return modified;
  }

  private async head(operation: string, name: string): Promise<HeadObjectCommandOutput> {
    const client = await this.sdkClient();
    const { HeadObjectCommand } = await loadClientS3();
    const key = this.keyOf(name);
    try {
      return await client.send(new HeadObjectCommand({ Bucket: this.settings.bucket, Key: key }));
    } catch (error) {
      throw await this.diagnosedFailure(operation, name, key, error);
    }
  }

  // Deleting

  override async delete(name: string): Promise<void> {
    if (!name) throw new Error('The name must be given to delete().');
    const key = this.keyOf(name);
    const client = await this.sdkClient();
    const { DeleteObjectCommand } = await loadClientS3();
    try {
      // S3 answers a delete of a missing key with success, as Django's delete() of a missing file.
      await client.send(new DeleteObjectCommand({ Bucket: this.settings.bucket, Key: key }));
    } catch (error) {
      throw this.failure('delete', name, error);
    }
  }

  // URLs

  /**
   * The URL of a stored name: under customDomain when set (unsigned), else the object's URL, presigned for
   * querystringExpire seconds when querystringAuth is on (the default).
   */
  override url(name: string | null): string {
    const key = this.keyOf(name ?? '');
    const { customDomain, urlProtocol, querystringAuth, credentials } = this.settings;
    if (customDomain !== null) return customDomainUrl(urlProtocol, customDomain, key);
    const url = objectUrl(this.settings, key);
    if (!querystringAuth) return url.href;
    if (credentials === null) {
      throw new ImproperlyConfigured(
        `${this.label()}: url() signs URLs on the spot and needs static credentials (OPTIONS accessKeyId and secretAccessKey, `
          + 'or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); with credentials from a profile, SSO or an instance role, '
          + 'use `await storage.signedUrl(name, { expiresIn })`, or set querystringAuth: false for a public bucket.',
      );
    }
    url.searchParams.set('x-id', 'GetObject'); // what the SDK's presigner adds: the URLs have the same form
    return presignUrl({ method: 'GET', url, region: this.settings.region, credentials, expiresIn: this.settings.querystringExpire });
  }

  /** A presigned GET URL from the SDK's presigner (works with every credential source). */
  override async signedUrl(name: string, options: SignedUrlOptions): Promise<string> {
    const { expiresIn } = options;
    if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_PRESIGN_SECONDS) {
      throw new RangeError(`expiresIn must be a whole number of seconds from 1 to ${MAX_PRESIGN_SECONDS} (7 days), got ${expiresIn}.`);
    }
    const key = this.keyOf(name);
    const client = await this.sdkClient();
    const [{ getSignedUrl }, { GetObjectCommand }] = await Promise.all([loadPresigner(), loadClientS3()]);
    try {
      return await getSignedUrl(client, new GetObjectCommand({ Bucket: this.settings.bucket, Key: key }), { expiresIn });
    } catch (error) {
      throw this.failure('signedUrl', name, error);
    }
  }

  override describe(): string {
    const { bucket, location } = this.settings;
    return `bucket=${bucket}${location ? ` location=${location}` : ''} endpoint=${this.endpointLabel()}`;
  }

  // Errors

  private endpointLabel(): string {
    return this.settings.endpoint?.href.replace(/\/$/, '') ?? `https://s3.${this.settings.region}.amazonaws.com`;
  }

  private label(): string {
    return this.alias === null ? `S3 storage (bucket '${this.settings.bucket}')` : `S3 storage '${this.alias}'`;
  }

  private errorContext(): S3ErrorContext {
    return {
      bucket: this.settings.bucket,
      endpoint: this.endpointLabel(),
      accessKeyId: this.settings.credentials?.accessKeyId,
      region: this.settings.region,
    };
  }

  private failure(operation: string, name: string, error: unknown, override: Partial<S3FailureExplanation> = {}): S3StorageError {
    const explanation = { ...explainS3Error(error, this.errorContext()), ...override };
    return new S3StorageError({ storage: this.label(), alias: this.alias, operation, fileName: name, explanation, cause: error });
  }

  /**
   * A HEAD failure explained: HEAD answers carry no error document, so a 403 could be a wrong key, a wrong
   * secret or a missing permission, and a 404 a missing file or a missing bucket. A one-byte GET of the same
   * key needs the same permission and does carry the document, so its error names the real cause.
   */
  private async diagnosedFailure(operation: string, name: string, key: string, error: unknown): Promise<S3StorageError> {
    if (!isBodilessHttpError(error)) return this.failure(operation, name, error);
    try {
      const client = await this.sdkClient();
      const { GetObjectCommand } = await loadClientS3();
      const probe = await client.send(new GetObjectCommand({ Bucket: this.settings.bucket, Key: key, Range: 'bytes=0-0' }));
      (probe.Body as Readable | undefined)?.destroy();
    } catch (diagnosis) {
      const explained = explainS3Error(diagnosis, this.errorContext());
      if (!isBodilessHttpError(diagnosis) && explained.code !== 'InvalidRange') return this.failure(operation, name, diagnosis);
    }
    return this.failure(operation, name, error);
  }
}
