/**
 * The Azure driver: block blobs of one container under a name prefix, I/O only (the Storage base decides
 * names).
 *
 * A write streams the content in blocks and commits the block list only at the end, so a blob is never
 * visible under its name before all its bytes are there, and a failing source leaves no blob. A
 * create-only commit carries `If-None-Match: *`, so two writers of one name can never replace each
 * other's file: the later one moves to another name through its claim.
 *
 * @azure/storage-blob is loaded on first use only (see client.ts); url() needs no SDK at all.
 */
import { Readable } from 'node:stream';
import type { ContainerClient } from '@azure/storage-blob';
import { ImproperlyConfigured } from '../../errors.ts';
import { File } from '../../files/File.ts';
import type {
  ByteRange, DriverCapabilities, ListPage, ListRequest, ObjectHeaders, ObjectStat, SignedUpload, SignedUploadRequest, StorageDriver,
  WriteRequest,
} from '../driver.ts';
import { StorageOperationError, firstLineOf } from '../operationError.ts';
import { NameLostError } from '../Storage.ts';
import { createContainerClient } from './client.ts';
import { azureOperationError, isBlockListLost, isNameTaken, isNotFound, serviceFailureOf } from './errors.ts';
import { blobNameOf, encodeBlobPath } from './names.ts';
import type { ResolvedAzureOptions } from './options.ts';
import { blobSasQuery } from './sas.ts';

/** Pieces read from the content while uploading; the SDK gathers them into blocks of `blockSize`. */
const READ_CHUNK_SIZE = 1024 * 1024;

/** The SDK could not be imported. */
class SdkMissing extends Error {}

/** The listing prefix of a folder's blob name ('' for the container's root). */
function folderPrefix(blobName: string): string {
  return blobName === '' ? '' : `${blobName}/`;
}

export class AzureDriver implements StorageDriver {
  readonly capabilities: DriverCapabilities = Object.freeze({
    localPath: false, urlSigning: true, uploadSigning: true, serverSideCopy: false, contentTypes: true, flatListing: true,
  });
  alias: string | null = null;
  private containerClient: Promise<ContainerClient> | null = null;

  get replacesExisting(): boolean {
    return this.options.overwriteFiles;
  }

  constructor(readonly options: ResolvedAzureOptions) {}

  /** The SDK's client for the container, created (and the SDK imported) on first use. */
  async container(): Promise<ContainerClient> {
    this.containerClient ??= createContainerClient(this.options).catch((error: unknown) => {
      this.containerClient = null;
      throw error;
    });
    try {
      return await this.containerClient;
    } catch (error) {
      throw new SdkMissing(firstLineOf(error), { cause: error });
    }
  }

  keyOf(name: string): string {
    return blobNameOf(this.options.location, name);
  }

  defaultHeaders(): ObjectHeaders {
    return this.options.cacheControl === null ? {} : { cacheControl: this.options.cacheControl };
  }

  async write({ content, headers, replace, claim }: WriteRequest): Promise<string> {
    const container = await this.container();
    for (;;) {
      const blob = container.getBlockBlobClient(claim.key);
      let sourceError: unknown;
      const body = Readable.from(
        (async function* readContent() {
          try {
            yield* content.chunks(READ_CHUNK_SIZE);
          } catch (error) {
            sourceError = error;
            throw error;
          }
        })(),
        { objectMode: false },
      );
      try {
        await blob.uploadStream(body, this.options.blockSize, this.options.uploadMaxConnections, {
          blobHTTPHeaders: {
            ...(headers.contentType === undefined ? {} : { blobContentType: headers.contentType }),
            ...(headers.cacheControl === undefined ? {} : { blobCacheControl: headers.cacheControl }),
            ...(headers.contentDisposition === undefined ? {} : { blobContentDisposition: headers.contentDisposition }),
          },
          ...(headers.metadata === undefined ? {} : { metadata: { ...headers.metadata } }),
          ...(replace ? {} : { conditions: { ifNoneMatch: '*' } }),
        });
        return claim.name;
      } catch (error) {
        body.destroy();
        // The content failed (too large, a read error): the staged blocks were never committed, so nothing is kept.
        if (sourceError !== undefined) throw sourceError;
        if (replace || !(await this.takenByAnotherWriter(error, blob))) throw error;
        await claim.taken(error, { rereadsContent: true });
      }
    }
  }

  /** Whether a failed create-only commit lost to a concurrent writer of the same name. */
  private async takenByAnotherWriter(error: unknown, blob: { exists(): Promise<boolean> }): Promise<boolean> {
    if (isNameTaken(error)) return true;
    // The winner's commit discards every other writer's uncommitted blocks, so ours may fail as an invalid list.
    return isBlockListLost(error) && (await blob.exists().catch(() => false));
  }

  async read(blobName: string, name: string, range?: ByteRange): Promise<File> {
    const container = await this.container();
    const offset = range?.start ?? 0;
    const count = range?.end === undefined ? undefined : range.end - offset + 1;
    const response = await container.getBlobClient(blobName).download(offset, count, { maxRetryRequests: 5 });
    const body = response.readableStreamBody;
    if (!body) throw new Error('The service sent no body.');
    const file = new File(body as Readable, name);
    if (response.contentLength !== undefined) file.size = response.contentLength;
    return file;
  }

  async remove(blobName: string): Promise<void> {
    const container = await this.container();
    await container.getBlobClient(blobName).deleteIfExists({ deleteSnapshots: 'include' });
  }

  /** A blob of that name, or a "folder": blobs whose names start with it and a slash. */
  async exists(blobName: string): Promise<boolean> {
    const container = await this.container();
    if (blobName !== '') {
      try {
        await container.getBlobClient(blobName).getProperties();
        return true;
      } catch (error) {
        // A missing container is also a 404: only a missing blob means "no file".
        if (!isNotFound(error) || serviceFailureOf(error).code === 'ContainerNotFound') throw error;
      }
    }
    const page = await container.listBlobsFlat({ prefix: folderPrefix(blobName) }).byPage({ maxPageSize: 1 }).next();
    if (page.done) return false;
    return page.value.segment.blobItems.length > 0 || blobName === '';
  }

  async list(blobName: string, { recursive, cursor, pageSize }: ListRequest): Promise<ListPage> {
    const container = await this.container();
    const prefix = folderPrefix(blobName);
    const settings = { maxPageSize: pageSize, ...(cursor === null ? {} : { continuationToken: cursor }) };
    const result: ListPage = { folders: [], files: [], cursor: null };
    if (recursive) {
      const page = await container.listBlobsFlat({ prefix }).byPage(settings).next();
      if (page.done) return result;
      for (const item of page.value.segment.blobItems) {
        result.files.push({ name: item.name.slice(prefix.length), size: item.properties.contentLength ?? 0, modifiedTime: item.properties.lastModified });
      }
      result.cursor = page.value.continuationToken || null;
      return result;
    }
    const page = await container.listBlobsByHierarchy('/', { prefix }).byPage(settings).next();
    if (page.done) return result;
    for (const item of page.value.segment.blobPrefixes ?? []) result.folders.push(item.name.slice(prefix.length).replace(/\/$/, ''));
    for (const item of page.value.segment.blobItems) {
      const relative = item.name.slice(prefix.length);
      if (relative !== '') result.files.push({ name: relative, size: item.properties.contentLength ?? 0, modifiedTime: item.properties.lastModified });
    }
    result.cursor = page.value.continuationToken || null;
    return result;
  }

  private async properties(blobName: string) {
    const container = await this.container();
    return container.getBlobClient(blobName).getProperties();
  }

  /** The last access time where the account tracks it (last-access tracking policy), else the modification time. */
  async stat(blobName: string): Promise<ObjectStat> {
    const { contentLength, lastModified, createdOn, lastAccessed } = await this.properties(blobName);
    if (!lastModified) throw new Error('The service sent no Last-Modified time.');
    return {
      isFolder: false,
      size: contentLength ?? 0,
      modified: lastModified,
      created: createdOn ?? lastModified,
      accessed: lastAccessed ?? lastModified,
    };
  }

  async headers(blobName: string): Promise<ObjectHeaders> {
    const { contentType, cacheControl, contentDisposition, metadata } = await this.properties(blobName);
    const headers: ObjectHeaders = {};
    if (contentType) headers.contentType = contentType;
    if (cacheControl) headers.cacheControl = cacheControl;
    if (contentDisposition) headers.contentDisposition = contentDisposition;
    if (metadata && Object.keys(metadata).length > 0) headers.metadata = { ...metadata };
    return headers;
  }

  /** The blob's URL (on customDomain when set), without any signature. */
  private plainUrl(blobName: string): URL {
    const url = new URL(`${this.options.endpoint}/${encodeURIComponent(this.options.container)}/${encodeBlobPath(blobName)}`);
    if (this.options.customDomain !== null) url.host = this.options.customDomain;
    return url;
  }

  /** A SAS URL of a blob with the given permissions ('r' to read, 'cw' to upload). */
  sasUrl(blobName: string, expiresInSeconds: number, permissions = 'r'): string {
    const { accountKey, accountName, container } = this.options;
    if (accountKey === null) {
      throw new ImproperlyConfigured(
        `AzureStorage${this.alias === null ? '' : ` '${this.alias}'`}: signed URLs need the 'accountKey' option (or a connectionString with AccountKey).`,
      );
    }
    if (!Number.isFinite(expiresInSeconds) || expiresInSeconds <= 0) {
      throw new RangeError(`expiresIn must be a positive number of seconds, got ${expiresInSeconds}.`);
    }
    const url = this.plainUrl(blobName);
    // No start time: the URL is valid at once, whatever the skew between this clock and the service's.
    url.search = blobSasQuery({
      accountName,
      accountKey,
      container,
      blobName,
      permissions,
      expiresOn: new Date(Date.now() + expiresInSeconds * 1000),
      ...(url.protocol === 'https:' ? { protocol: 'https' as const } : {}),
    });
    return url.href;
  }

  /**
   * The URL of a file: on customDomain when set; signed for expirationSecs (read only) when that is set,
   * so a private container works; else plain, for a container with public read access.
   */
  url(name: string | null): string {
    const blobName = this.keyOf(name ?? '');
    const { expirationSecs } = this.options;
    if (expirationSecs !== null && blobName !== '') return this.sasUrl(blobName, expirationSecs);
    return this.plainUrl(blobName).href;
  }

  /** A read-only SAS URL valid for `expiresIn` seconds, whatever expirationSecs says. */
  async signedUrl(blobName: string, _name: string, expiresIn: number): Promise<string> {
    return this.sasUrl(blobName, expiresIn);
  }

  /** A SAS URL that may create or write this one blob, for a browser's PUT (Azure cannot limit the size: attachUploaded checks it). */
  async signedUpload(blobName: string, _name: string, { expiresIn, contentType }: SignedUploadRequest): Promise<SignedUpload> {
    return {
      url: this.sasUrl(blobName, expiresIn, 'cw'),
      method: 'PUT',
      fields: {},
      headers: { 'x-ms-blob-type': 'BlockBlob', ...(contentType === undefined ? {} : { 'Content-Type': contentType }) },
    };
  }

  failure(operation: string, name: string | null, error: unknown, alias: string | null): Error {
    if (error instanceof SdkMissing) {
      return new StorageOperationError({
        backend: 'AzureStorage', alias, operation, fileName: name, code: 'ERR_MODULE_NOT_FOUND', cause: error.cause,
        reason: `the Azure SDK (@azure/storage-blob) could not be loaded: ${error.message}. Install it with npm install @azure/storage-blob.`,
      });
    }
    if (error instanceof NameLostError) {
      return new StorageOperationError({
        backend: 'AzureStorage', alias, operation, fileName: name, code: 'EEXIST', cause: error.cause,
        reason: 'another upload created this name while the content was being sent, and the content is a stream '
          + 'that cannot be read a second time to store it under another name; save it again.',
      });
    }
    const { container, endpoint } = this.options;
    return azureOperationError({ alias, container, endpoint }, operation, name, error);
  }

  describe(): string {
    const { endpoint, container, location, overwriteFiles } = this.options;
    return `endpoint=${endpoint} container=${container}${location ? ` location=${location}` : ''}${overwriteFiles ? ' overwriteFiles' : ''}`;
  }
}
