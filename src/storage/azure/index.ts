/**
 * AzureStorage: files as block blobs in an Azure Storage container (django-storages' AzureStorage).
 *
 * A save streams the content in blocks and commits the block list only at the end, so a blob is never
 * visible under its name before all its bytes are there, and a failing source leaves no blob. Unless
 * overwriteFiles is set, the commit carries `If-None-Match: *`, so two writers of one name can never
 * replace each other's file: the later one gets another name.
 *
 * @azure/storage-blob is loaded on first use only (see client.ts); url() needs no SDK at all.
 */
import { Readable } from 'node:stream';
import type { ContainerClient } from '@azure/storage-blob';
import { ImproperlyConfigured } from '../../errors.ts';
import { File } from '../../files/File.ts';
import { sniffContentType } from '../../files/contentType.ts';
import { StorageOperationError, firstLineOf } from '../operationError.ts';
import { Storage, type SignedUrlOptions } from '../Storage.ts';
import { createContainerClient } from './client.ts';
import { azureOperationError, isBlockListLost, isNameTaken, isNotFound, serviceFailureOf } from './errors.ts';
import { blobNameOf, encodeBlobPath, folderPrefixOf } from './names.ts';
import { resolveAzureOptions, type AzureStorageOptions, type ResolvedAzureOptions } from './options.ts';
import { blobSasQuery } from './sas.ts';

export type { AzureStorageOptions } from './options.ts';
export { StorageOperationError } from '../operationError.ts';

/** Pieces read from the content while uploading; the SDK gathers them into blocks of `blockSize`. */
const READ_CHUNK_SIZE = 1024 * 1024;

export class AzureStorage extends Storage {
  readonly options: ResolvedAzureOptions;
  private containerClient: Promise<ContainerClient> | null = null;

  constructor(options: AzureStorageOptions = {}) {
    super();
    this.options = resolveAzureOptions(options);
  }

  /** The SDK's client for the container, created (and the SDK imported) on first use. */
  private async container(operation: string, name: string | null): Promise<ContainerClient> {
    this.containerClient ??= createContainerClient(this.options).catch((error: unknown) => {
      this.containerClient = null;
      throw error;
    });
    try {
      return await this.containerClient;
    } catch (error) {
      throw new StorageOperationError({
        backend: 'AzureStorage',
        alias: this.alias,
        operation,
        fileName: name,
        reason: `the Azure SDK (@azure/storage-blob) could not be loaded: ${firstLineOf(error)}. Install it with npm install @azure/storage-blob.`,
        code: 'ERR_MODULE_NOT_FOUND',
        cause: error,
      });
    }
  }

  private failure(operation: string, name: string | null, cause: unknown): StorageOperationError {
    const { container, endpoint } = this.options;
    return azureOperationError({ alias: this.alias, container, endpoint }, operation, name, cause);
  }

  private blobName(name: string): string {
    return blobNameOf(this.options.location, name);
  }

  protected override get replacesExistingFiles(): boolean {
    return this.options.overwriteFiles;
  }


  protected async _save(name: string, content: File): Promise<string> {
    const container = await this.container('save', name);
    const contentType = await sniffContentType(content);
    let currentName = name;
    for (;;) {
      const blob = container.getBlockBlobClient(this.blobName(currentName));
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
            blobContentType: contentType,
            ...(this.options.cacheControl === null ? {} : { blobCacheControl: this.options.cacheControl }),
          },
          ...(this.options.overwriteFiles ? {} : { conditions: { ifNoneMatch: '*' } }),
        });
        return currentName;
      } catch (error) {
        body.destroy();
        // The content failed (too large, a read error): the staged blocks were never committed, so nothing is kept.
        if (sourceError !== undefined) throw sourceError;
        if (this.options.overwriteFiles || !(await this.takenByAnotherWriter(error, blob))) {
          throw this.failure('save', currentName, error);
        }
        if (!content.seekable) {
          throw new StorageOperationError({
            backend: 'AzureStorage',
            alias: this.alias,
            operation: 'save',
            fileName: currentName,
            reason: 'another upload created this name while the content was being sent, and the content is a stream '
              + 'that cannot be read a second time to store it under another name; save it again.',
            code: 'EEXIST',
            cause: error,
          });
        }
        // Someone took the name since getAvailableName() looked: take another (without maxLength, as Django).
        currentName = await this.getAvailableName(currentName);
      }
    }
  }

  /** Whether a failed create-only commit lost to a concurrent writer of the same name. */
  private async takenByAnotherWriter(error: unknown, blob: { exists(): Promise<boolean> }): Promise<boolean> {
    if (isNameTaken(error)) return true;
    // The winner's commit discards every other writer's uncommitted blocks, so ours may fail as an invalid list.
    return isBlockListLost(error) && (await blob.exists().catch(() => false));
  }

  protected async _open(name: string): Promise<File> {
    const container = await this.container('open', name);
    try {
      const response = await container.getBlobClient(this.blobName(name)).download(0, undefined, { maxRetryRequests: 5 });
      const body = response.readableStreamBody;
      if (!body) throw new Error('The service sent no body.');
      const file = new File(body as Readable, name);
      if (response.contentLength !== undefined) file.size = response.contentLength;
      return file;
    } catch (error) {
      throw this.failure('open', name, error);
    }
  }

  override async delete(name: string): Promise<void> {
    if (!name) throw new Error('The name must be given to delete().');
    const container = await this.container('delete', name);
    try {
      await container.getBlobClient(this.blobName(name)).deleteIfExists({ deleteSnapshots: 'include' });
    } catch (error) {
      throw this.failure('delete', name, error);
    }
  }

  /** A blob of that name, or a "folder": blobs whose names start with it and a slash. */
  override async exists(name: string): Promise<boolean> {
    const container = await this.container('exists', name);
    const blobName = this.blobName(name);
    try {
      if (blobName !== '') {
        try {
          await container.getBlobClient(blobName).getProperties();
          return true;
        } catch (error) {
          // A missing container is also a 404: only a missing blob means "no file".
          if (!isNotFound(error) || serviceFailureOf(error).code === 'ContainerNotFound') throw error;
        }
      }
      const prefix = folderPrefixOf(this.options.location, name);
      const page = await container.listBlobsFlat({ prefix }).byPage({ maxPageSize: 1 }).next();
      if (page.done) return false;
      return page.value.segment.blobItems.length > 0 || blobName === '';
    } catch (error) {
      throw this.failure('exists', name, error);
    }
  }

  override async listdir(path: string): Promise<[string[], string[]]> {
    const container = await this.container('listdir', path);
    const prefix = folderPrefixOf(this.options.location, path);
    const directories: string[] = [];
    const files: string[] = [];
    try {
      for await (const item of container.listBlobsByHierarchy('/', { prefix })) {
        const relative = item.name.slice(prefix.length);
        if (item.kind === 'prefix') directories.push(relative.replace(/\/$/, ''));
        else if (relative !== '') files.push(relative);
      }
    } catch (error) {
      throw this.failure('listdir', path, error);
    }
    return [directories, files];
  }

  private async properties(operation: string, name: string) {
    const container = await this.container(operation, name);
    try {
      return await container.getBlobClient(this.blobName(name)).getProperties();
    } catch (error) {
      throw this.failure(operation, name, error);
    }
  }

  override async size(name: string): Promise<number> {
    return (await this.properties('size', name)).contentLength ?? 0;
  }

  override async getModifiedTime(name: string): Promise<Date> {
    const { lastModified } = await this.properties('getModifiedTime', name);
    if (!lastModified) throw this.failure('getModifiedTime', name, new Error('The service sent no Last-Modified time.'));
    return lastModified;
  }

  override async getCreatedTime(name: string): Promise<Date> {
    const { createdOn, lastModified } = await this.properties('getCreatedTime', name);
    const created = createdOn ?? lastModified;
    if (!created) throw this.failure('getCreatedTime', name, new Error('The service sent no creation time.'));
    return created;
  }

  /** The last access time where the account tracks it (last-access tracking policy), else the modification time. */
  override async getAccessedTime(name: string): Promise<Date> {
    const { lastAccessed, lastModified } = await this.properties('getAccessedTime', name);
    const accessed = lastAccessed ?? lastModified;
    if (!accessed) throw this.failure('getAccessedTime', name, new Error('The service sent no access time.'));
    return accessed;
  }

  /** The blob's URL (on customDomain when set), without any signature. */
  private plainUrl(blobName: string): URL {
    const url = new URL(`${this.options.endpoint}/${encodeURIComponent(this.options.container)}/${encodeBlobPath(blobName)}`);
    if (this.options.customDomain !== null) url.host = this.options.customDomain;
    return url;
  }

  private sasUrl(blobName: string, expiresInSeconds: number): string {
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
      permissions: 'r',
      expiresOn: new Date(Date.now() + expiresInSeconds * 1000),
      ...(url.protocol === 'https:' ? { protocol: 'https' as const } : {}),
    });
    return url.href;
  }

  /**
   * The URL of a file: on customDomain when set; signed for expirationSecs (read only) when that is set,
   * so a private container works; else plain, for a container with public read access.
   */
  override url(name: string | null): string {
    const blobName = this.blobName(name ?? '');
    const { expirationSecs } = this.options;
    if (expirationSecs !== null && blobName !== '') return this.sasUrl(blobName, expirationSecs);
    return this.plainUrl(blobName).href;
  }

  /** A read-only SAS URL valid for `expiresIn` seconds, whatever expirationSecs says. */
  override async signedUrl(name: string, options: SignedUrlOptions): Promise<string> {
    return this.sasUrl(this.blobName(name), options.expiresIn);
  }

  override describe(): string {
    const { endpoint, container, location, overwriteFiles } = this.options;
    return `endpoint=${endpoint} container=${container}${location ? ` location=${location}` : ''}${overwriteFiles ? ' overwriteFiles' : ''}`;
  }
}
