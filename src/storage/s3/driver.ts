/**
 * The S3 driver: objects of one bucket under a key prefix, I/O only (the Storage base decides names).
 *
 * Create-only writes use a conditional write (`If-None-Match: *`): the server refuses to create an object
 * whose key exists, so two concurrent saves of one name never overwrite each other; the loser moves to
 * another name through its claim. A server that ignores the header (older MinIO or Ceph, s3rver) leaves a
 * window between the exists() check and the write in which a concurrent save can overwrite; see docs/s3.md.
 */
import type { Readable } from 'node:stream';
import type { HeadObjectCommandOutput, S3Client } from '@aws-sdk/client-s3';
import { ImproperlyConfigured } from '../../errors.ts';
import { File } from '../../files/File.ts';
import type {
  ByteRange, DriverCapabilities, ListPage, ListRequest, ObjectHeaders, ObjectStat, SignedUpload, SignedUploadRequest, StorageDriver,
  WriteRequest,
} from '../driver.ts';
import { NameLostError, NamesExhaustedError, MAX_NAME_ATTEMPTS } from '../Storage.ts';
import { customDomainUrl, encodeKey, objectUrl } from './addressing.ts';
import {
  S3StorageError, explainS3Error, httpStatusOf, isBodilessHttpError, isConditionalConflict, isPreconditionFailed,
  type S3ErrorContext, type S3FailureExplanation,
} from './errors.ts';
import { keyOf, nameOfKey } from './keys.ts';
import { MAX_PRESIGN_SECONDS, type ResolvedS3Options } from './options.ts';
import { createS3Client, loadClientS3, loadPresigner } from './sdk.ts';
import { presignPost, presignUrl } from './sigv4.ts';
import { SourceGuard, prepareContent, putStreamed, putWhole, type UploadParameters } from './upload.ts';

/** S3 allows at most this many parts in one multipart upload. */
const MAX_PARTS = 10_000;

/** The listing prefix of a folder key: with a trailing slash, or '' for the bucket's root. */
function folderPrefix(key: string): string {
  return key === '' ? '' : key.endsWith('/') ? key : key + '/';
}

export class S3Driver implements StorageDriver {
  readonly capabilities: DriverCapabilities = Object.freeze({
    localPath: false, urlSigning: true, uploadSigning: true, serverSideCopy: true, contentTypes: true, flatListing: true,
  });
  alias: string | null = null;
  /** The parameters of one upload; S3Storage routes it through its overridable uploadParameters(). */
  parametersFor: (key: string, headers: ObjectHeaders, replace: boolean) => UploadParameters = (key, headers, replace) =>
    this.uploadParameters(key, headers, replace);
  private clientPromise: Promise<S3Client> | undefined;

  get replacesExisting(): boolean {
    return this.settings.fileOverwrite;
  }

  constructor(readonly settings: Readonly<ResolvedS3Options>) {}

  /** The SDK client (created, and the SDK loaded, on first use). */
  client(): Promise<S3Client> {
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

  defaultHeaders(): ObjectHeaders {
    const { ContentType } = this.settings.objectParameters;
    return ContentType === undefined ? {} : { contentType: ContentType };
  }

  async write({ content, headers, replace, claim }: WriteRequest): Promise<string> {
    const client = await this.client();
    // Parts grow for huge known sizes so that the upload stays within S3's part count.
    const partSize = Math.max(this.settings.multipartChunkSize, Math.ceil((content.sizeIfKnown ?? 0) / MAX_PARTS));
    // Each part in flight costs about twice its size (lib-storage copies the pieces of a part into one
    // buffer, and the pieces wait for the garbage collector): so many parts go in parallel within maxMemorySize.
    const queueSize = Math.max(1, Math.floor(this.settings.maxMemorySize / (2 * partSize)));
    const guard = new SourceGuard();
    let prepared = await prepareContent(content, partSize, guard);
    for (;;) {
      const parameters = this.parametersFor(claim.key, headers, replace);
      try {
        if (prepared.kind === 'whole') await putWhole(client, parameters, prepared.body);
        else await putStreamed(client, parameters, prepared, { partSize, queueSize });
        return nameOfKey(this.settings.location, parameters.Key!);
      } catch (error) {
        if (guard.failed) throw guard.error;
        if (replace || !(isPreconditionFailed(error) || isConditionalConflict(error))) throw error;
        await claim.taken(error, { rereadsContent: prepared.kind === 'stream' });
        if (prepared.kind === 'stream') prepared = await prepareContent(content, partSize, guard);
      }
    }
  }

  /** CopyObject inside the bucket (create-only with If-None-Match, as writes are); the object keeps its headers. */
  async copy(fromKey: string, { replace, claim }: Omit<WriteRequest, 'content'>): Promise<string> {
    const client = await this.client();
    const { CopyObjectCommand } = await loadClientS3();
    const { bucket, defaultAcl } = this.settings;
    for (;;) {
      try {
        await client.send(new CopyObjectCommand({
          Bucket: bucket,
          Key: claim.key,
          CopySource: `${bucket}/${encodeKey(fromKey)}`,
          ...(defaultAcl === null ? {} : { ACL: defaultAcl as never }),
          ...(replace ? {} : { IfNoneMatch: '*' }),
        }));
        return nameOfKey(this.settings.location, claim.key);
      } catch (error) {
        if (replace || !(isPreconditionFailed(error) || isConditionalConflict(error))) throw error;
        await claim.taken(error);
      }
    }
  }

  /** The parameters of every upload of a key (django-storages' get_object_parameters). */
  uploadParameters(key: string, headers: ObjectHeaders, replace: boolean): UploadParameters {
    const { objectParameters, defaultAcl, bucket } = this.settings;
    const parameters: Record<string, unknown> = { ...objectParameters, Bucket: bucket, Key: key };
    if (headers.contentType !== undefined) parameters.ContentType = headers.contentType;
    if (headers.cacheControl !== undefined) parameters.CacheControl = headers.cacheControl;
    if (headers.contentDisposition !== undefined) parameters.ContentDisposition = headers.contentDisposition;
    if (objectParameters.Metadata || headers.metadata) parameters.Metadata = { ...objectParameters.Metadata, ...headers.metadata };
    if (defaultAcl !== null) parameters.ACL = defaultAcl;
    if (!replace) parameters.IfNoneMatch = '*';
    return parameters as UploadParameters;
  }

  async read(key: string, _name: string, range?: ByteRange): Promise<File> {
    const client = await this.client();
    const { GetObjectCommand } = await loadClientS3();
    const response = await client.send(new GetObjectCommand({
      Bucket: this.settings.bucket,
      Key: key,
      ...(range === undefined ? {} : { Range: `bytes=${range.start}-${range.end ?? ''}` }),
    }));
    // In Node the body is an http.IncomingMessage: a Readable that File streams from, never buffered whole.
    const file = new File(response.Body as Readable, nameOfKey(this.settings.location, key));
    if (response.ContentLength !== undefined) file.size = response.ContentLength;
    return file;
  }

  async exists(key: string): Promise<boolean> {
    const client = await this.client();
    const { HeadObjectCommand, ListObjectsV2Command } = await loadClientS3();
    if (key !== this.settings.location && !key.endsWith('/')) {
      try {
        await client.send(new HeadObjectCommand({ Bucket: this.settings.bucket, Key: key }));
        return true;
      } catch (error) {
        if (httpStatusOf(error) !== 404) throw await this.diagnosed(key, error);
      }
    }
    // No such object: the name still exists if it is a folder, that is, the prefix of some key. This also
    // tells a missing bucket (an error) from a missing file, which a HEAD cannot.
    const listing = await client.send(new ListObjectsV2Command({ Bucket: this.settings.bucket, Prefix: folderPrefix(key), MaxKeys: 1 }));
    if (key === this.settings.location) return true;
    return (listing.KeyCount ?? listing.Contents?.length ?? 0) > 0 || (listing.CommonPrefixes?.length ?? 0) > 0;
  }

  async list(key: string, { recursive, cursor, pageSize }: ListRequest): Promise<ListPage> {
    const client = await this.client();
    const { ListObjectsV2Command } = await loadClientS3();
    const prefix = folderPrefix(key);
    const page = await client.send(new ListObjectsV2Command({
      Bucket: this.settings.bucket,
      Prefix: prefix,
      MaxKeys: pageSize,
      ...(recursive ? {} : { Delimiter: '/' }),
      ...(cursor === null ? {} : { ContinuationToken: cursor }),
    }));
    const result: ListPage = { folders: [], files: [], cursor: page.IsTruncated ? page.NextContinuationToken ?? null : null };
    for (const { Prefix } of page.CommonPrefixes ?? []) {
      if (Prefix) result.folders.push(Prefix.slice(prefix.length, -1));
    }
    for (const { Key, Size, LastModified } of page.Contents ?? []) {
      // A key equal to the prefix (or ending in a slash) is a folder marker made by some tools, not a file.
      if (Key && Key !== prefix && !(recursive && Key.endsWith('/'))) {
        result.files.push({ name: Key.slice(prefix.length), size: Size ?? 0, modifiedTime: LastModified ?? new Date(0) });
      }
    }
    return result;
  }

  /** S3 keeps one date per object: objects are written whole, so it is also the creation and best-known access time. */
  async stat(key: string): Promise<ObjectStat> {
    const head = await this.head(key);
    const modified = head.LastModified;
    if (!modified) throw new Error('the server sent no Last-Modified date');
    return { isFolder: false, size: head.ContentLength ?? 0, modified, created: modified, accessed: modified };
  }

  async headers(key: string): Promise<ObjectHeaders> {
    const head = await this.head(key);
    const headers: ObjectHeaders = {};
    if (head.ContentType) headers.contentType = head.ContentType;
    if (head.CacheControl) headers.cacheControl = head.CacheControl;
    if (head.ContentDisposition) headers.contentDisposition = head.ContentDisposition;
    if (head.Metadata && Object.keys(head.Metadata).length > 0) headers.metadata = { ...head.Metadata };
    return headers;
  }

  private async head(key: string): Promise<HeadObjectCommandOutput> {
    const client = await this.client();
    const { HeadObjectCommand } = await loadClientS3();
    try {
      return await client.send(new HeadObjectCommand({ Bucket: this.settings.bucket, Key: key }));
    } catch (error) {
      throw await this.diagnosed(key, error);
    }
  }

  /** S3 answers a delete of a missing key with success, as Django's delete() of a missing file. */
  async remove(key: string): Promise<void> {
    const client = await this.client();
    const { DeleteObjectCommand } = await loadClientS3();
    await client.send(new DeleteObjectCommand({ Bucket: this.settings.bucket, Key: key }));
  }

  /**
   * The URL of a stored name: under customDomain when set (unsigned), else the object's URL, presigned for
   * querystringExpire seconds when querystringAuth is on (the default).
   */
  url(name: string | null): string {
    const key = this.keyOf(name ?? '');
    const { customDomain, urlProtocol, querystringAuth, credentials } = this.settings;
    if (customDomain !== null) return customDomainUrl(urlProtocol, customDomain, key);
    const url = objectUrl(this.settings, key);
    if (!querystringAuth) return url.href;
    if (credentials === null) {
      throw new ImproperlyConfigured(
        `${this.label(this.alias)}: url() signs URLs on the spot and needs static credentials (OPTIONS accessKeyId and secretAccessKey, `
          + 'or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); with credentials from a profile, SSO or an instance role, '
          + 'use `await storage.signedUrl(name, { expiresIn })`, or set querystringAuth: false for a public bucket.',
      );
    }
    url.searchParams.set('x-id', 'GetObject'); // what the SDK's presigner adds: the URLs have the same form
    return presignUrl({ method: 'GET', url, region: this.settings.region, credentials, expiresIn: this.settings.querystringExpire });
  }

  /**
   * A presigned POST for a browser's direct upload of one key: the form's fields, with a content-length-range
   * when maxSize is given and the Content-Type fixed when contentType is. Signed here from static credentials.
   */
  async signedUpload(key: string, _name: string, { expiresIn, contentType, maxSize }: SignedUploadRequest): Promise<SignedUpload> {
    if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_PRESIGN_SECONDS) {
      throw new RangeError(`expiresIn must be a whole number of seconds from 1 to ${MAX_PRESIGN_SECONDS} (7 days), got ${expiresIn}.`);
    }
    const { credentials, bucket, region } = this.settings;
    if (credentials === null) {
      throw new ImproperlyConfigured(
        `${this.label(this.alias)}: signedUploadUrl() signs the upload form here and needs static credentials (OPTIONS accessKeyId and `
          + 'secretAccessKey, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).',
      );
    }
    const url = objectUrl(this.settings, '');
    // 201 with a document rather than S3's default 204: a browser's form post then shows an answer, not nothing.
    const fields: Record<string, string> = { success_action_status: '201', ...(contentType === undefined ? {} : { 'Content-Type': contentType }) };
    const signed = presignPost({ url, bucket, key, region, credentials, expiresIn, fields, ...(maxSize === undefined ? {} : { maxSize }) });
    return { url: url.href, method: 'POST', fields: signed.fields, headers: {} };
  }

  /** A presigned GET URL from the SDK's presigner (works with every credential source). */
  async signedUrl(key: string, _name: string, expiresIn: number): Promise<string> {
    if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_PRESIGN_SECONDS) {
      throw new RangeError(`expiresIn must be a whole number of seconds from 1 to ${MAX_PRESIGN_SECONDS} (7 days), got ${expiresIn}.`);
    }
    const client = await this.client();
    const [{ getSignedUrl }, { GetObjectCommand }] = await Promise.all([loadPresigner(), loadClientS3()]);
    return getSignedUrl(client, new GetObjectCommand({ Bucket: this.settings.bucket, Key: key }), { expiresIn });
  }

  describe(): string {
    const { bucket, location } = this.settings;
    return `bucket=${bucket}${location ? ` location=${location}` : ''} endpoint=${this.endpointLabel()}`;
  }

  // Errors

  private endpointLabel(): string {
    return this.settings.endpoint?.href.replace(/\/$/, '') ?? `https://s3.${this.settings.region}.amazonaws.com`;
  }

  private label(alias: string | null): string {
    return alias === null ? `S3 storage (bucket '${this.settings.bucket}')` : `S3 storage '${alias}'`;
  }

  private errorContext(): S3ErrorContext {
    return {
      bucket: this.settings.bucket,
      endpoint: this.endpointLabel(),
      accessKeyId: this.settings.credentials?.accessKeyId,
      region: this.settings.region,
    };
  }

  failure(operation: string, name: string | null, error: unknown, alias: string | null): Error {
    let cause = error;
    let override: Partial<S3FailureExplanation> = {};
    if (error instanceof NameLostError) {
      cause = error.cause;
      override = {
        reason: 'another save took the name while this upload ran, and the content (a stream) cannot be read again to store it under another name',
      };
    } else if (error instanceof NamesExhaustedError) {
      cause = error.cause;
      override = { reason: `the server refused to create each of ${MAX_NAME_ATTEMPTS} free names in turn; does it support conditional writes?` };
    }
    const explanation = { ...explainS3Error(cause, this.errorContext()), ...override };
    return new S3StorageError({ storage: this.label(alias), alias, operation, fileName: name ?? '', explanation, cause });
  }

  /**
   * A HEAD failure explained: HEAD answers carry no error document, so a 403 could be a wrong key, a wrong
   * secret or a missing permission, and a 404 a missing file or a missing bucket. A one-byte GET of the same
   * key needs the same permission and does carry the document, so its error names the real cause.
   */
  private async diagnosed(key: string, error: unknown): Promise<unknown> {
    if (!isBodilessHttpError(error)) return error;
    try {
      const client = await this.client();
      const { GetObjectCommand } = await loadClientS3();
      const probe = await client.send(new GetObjectCommand({ Bucket: this.settings.bucket, Key: key, Range: 'bytes=0-0' }));
      (probe.Body as Readable | undefined)?.destroy();
    } catch (diagnosis) {
      const explained = explainS3Error(diagnosis, this.errorContext());
      if (!isBodilessHttpError(diagnosis) && explained.code !== 'InvalidRange') return diagnosis;
    }
    return error;
  }
}
