/**
 * Storage: the abstract backend API (Django's django.core.files.storage.Storage).
 *
 * The name checks live in save() of this class, before and after choosing an available name and on the
 * name the backend returns, so that no backend can skip them (Django's CVE-2021-45452 and CVE-2024-39330).
 */
import { inspect } from 'node:util';
import { SuspiciousFileOperation, SuspiciousOperation, ValidationError } from '../errors.ts';
import { StorageOperationError } from './operationError.ts';
import { ContentFile, File, type ChunkOptions, type FileSource } from '../files/File.ts';
import { DigestReportingFile, type ContentDigest } from '../files/digest.ts';
import { withSizeLimit } from '../files/limits.ts';
import { getValidFilename, validateFileName } from '../files/names.ts';
import { join, normpath, pathParts, split, suffixes } from '../files/pythonPath.ts';
import { settings } from '../conf/settings.ts';
import { randomString } from './random.ts';
import { assertUsableName, isReservedName } from './reservedNames.ts';
import { sniffContentType } from '../files/contentType.ts';
import type {
  ByteRange, DriverCapabilities, ListPage, NameClaim, ObjectHeaders, ObjectStat, SignedUpload, SignedUploadRequest, StorageDriver,
} from './driver.ts';

/** Anything save() accepts as content: a File, raw bytes, or what a File wraps (never a string: see toFile()). */
export type Savable = File | FileSource | Uint8Array;

export interface SaveOptions extends ObjectHeaders {
  /** The longest name the caller can keep (a FileField's maxLength); longer candidates are shortened. */
  maxLength?: number | null;
  /**
   * Awaited with the name chosen for the file and the size and SHA-256 of its bytes, once the backend has
   * read every byte and before it is given the last piece, so before the file can appear under that name.
   * A backend that finds the name taken at the last moment and stores under another one calls it again with
   * that name first (publishingUnder()); save() returns the name used.
   * The upload journal uses it so that a crash after this point leaves an orphan it can find and identify.
   */
  beforePublish?: (name: string, digest: ContentDigest) => Promise<void>;
}

export interface SignedUrlOptions {
  /** Seconds the URL stays valid. */
  expiresIn: number;
}

/** Python's len(): code points, not UTF-16 units, so limits agree with Django's for any name. */
export function codePointLength(text: string): number {
  let length = 0;
  for (const _ of text) length++;
  return length;
}

/** A method the backend does not have (Django's NotImplementedError). */
class NotImplementedError extends Error {}

function notImplemented(method: string): Error {
  return new NotImplementedError(`subclasses of Storage must provide a${/^[aeiou]/.test(method) ? 'n' : ''} ${method}() method`);
}

function traversal(name: string): SuspiciousFileOperation {
  return new SuspiciousFileOperation(`Detected path traversal attempt in '${name}'`);
}

/**
 * Wraps what save() was given in a File, as Django does for content without chunks(). A string is refused:
 * it is as likely a path as text, and storing it as the file's bytes would lose the file either way.
 */
export function toFile(content: Savable, name: string | null): File {
  if (content instanceof File) return content;
  if (typeof content === 'string') {
    throw new TypeError(
      `The content to save is a string (${inspect(String(content).slice(0, 40))}), not a File: `
        + 'to store text, pass new ContentFile(text); to store a file from disk, pass await File.open(path).',
    );
  }
  if (content instanceof Uint8Array) return new ContentFile(content, name);
  return new File(content as FileSource, name);
}

/** The one bounded retry loop's limit: a service that refuses every create-only write must not loop a save. */
export const MAX_NAME_ATTEMPTS = 20;
/** Entries asked for in one listing call. */
const LIST_PAGE_SIZE = 1000;

/**
 * Thrown by a name claim: the name was taken while a write that cannot repeat its content (a stream
 * already sent) was under way. The driver words it (failure()); `cause` is the service's answer.
 */
export class NameLostError extends Error {
  override name = 'NameLostError';
  readonly code = 'EEXIST';
}

/** Thrown by a name claim after MAX_NAME_ATTEMPTS names were refused in turn. */
export class NamesExhaustedError extends Error {
  override name = 'NamesExhaustedError';
}

const NO_CAPABILITIES: DriverCapabilities = Object.freeze({
  localPath: false, urlSigning: false, uploadSigning: false, serverSideCopy: false, contentTypes: false, flatListing: false,
});

/** The headers given to save(), carried beside Django's `_save(name, content)` signature to the base's _save. */
const headersOfContent = new WeakMap<File, ObjectHeaders>();

/** The errors a save's content threw while it was read (they come through as they are, never reworded). */
class WatchedContent extends File {
  error: unknown = undefined;
  constructor(private readonly inner: File) {
    super(inner);
  }

  override peekStart(length: number): Promise<Uint8Array> {
    return this.inner.peekStart(length);
  }

  override get seekable(): boolean {
    return this.inner.seekable;
  }

  override async *chunks(chunkSize?: number, options?: ChunkOptions): AsyncGenerator<Uint8Array, void, undefined> {
    try {
      yield* this.inner.chunks(chunkSize, options);
    } catch (error) {
      this.error = error;
      throw error;
    }
  }
}

/** Errors of a save's own content (its source failed, it was too large): they come through as they are. */
const contentErrors = new WeakSet<object>();

/** Errors that are about what the caller asked, not about the service: never reworded. */
function isCallersError(error: unknown): boolean {
  if (typeof error === 'object' && error !== null && contentErrors.has(error)) return true;
  return error instanceof NotImplementedError || error instanceof SuspiciousOperation || error instanceof ValidationError || error instanceof TypeError || error instanceof RangeError;
}

export interface ListAllOptions {
  /** Files in sub-folders too (the default). */
  recursive?: boolean;
  /** Entries asked of the service per call (default 1000). */
  pageSize?: number;
}

export interface ListedEntry {
  name: string;
  size: number;
  modifiedTime: Date;
}

export { randomString } from './random.ts';
export { headersFileName, isReservedName } from './reservedNames.ts';

export abstract class Storage {
  /** The backend's I/O; null for a storage written Django's way (overriding _save, _open, exists…). */
  protected readonly driver: StorageDriver | null;
  private aliasName: string | null = null;

  constructor(driver: StorageDriver | null = null) {
    this.driver = driver;
  }

  /** The STORAGES alias this instance was made for (set by `storages`), for messages. */
  get alias(): string | null {
    return this.aliasName;
  }

  set alias(alias: string | null) {
    this.aliasName = alias;
    if (this.driver) this.driver.alias = alias;
  }

  /** What the backend declares it can do (all false for a storage without a driver). */
  get capabilities(): DriverCapabilities {
    return this.driver?.capabilities ?? NO_CAPABILITIES;
  }

  /** Whether names have local paths (declared by the backend, never inferred from what path() throws). */
  get isLocal(): boolean {
    return this.capabilities.localPath;
  }

  /**
   * Every public operation runs through here: the one place where a failure is worded for the user (and
   * where a call can be observed). A caller's mistake (a refused name, a too large file) comes through as it is.
   */
  protected async invoke<T>(operation: string, name: string | null, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw this.failure(operation, name, error);
    }
  }

  /** A failure as the user should see it: the backend's wording of its own errors, named after `operation`. */
  protected failure(operation: string, name: string | null, error: unknown): unknown {
    if (error instanceof StorageOperationError) return error.during(operation);
    if (isCallersError(error)) return error;
    return this.driver?.failure?.(operation, name, error, this.alias) ?? error;
  }

  private requireDriver(method: string): StorageDriver {
    if (this.driver === null) throw notImplemented(method);
    return this.driver;
  }

  /**
   * The driver's key of a user's name: names reserved for the storage's own files (temporary files, kept
   * headers) and NUL bytes are refused, then the driver confines the name under its root.
   */
  protected keyOf(name: string): string {
    assertUsableName(name);
    return this.requireDriver('keyOf').keyOf(name);
  }

  /**
   * Stores the content under `name` (or the content's own name), choosing a free name when it is taken,
   * and returns the name actually used.
   */
  async save(name: string | null, content: Savable, options: SaveOptions = {}): Promise<string> {
    return this.invoke('save', name, () => this.checkedSave(name, content, options));
  }

  private async checkedSave(name: string | null, content: Savable, options: SaveOptions): Promise<string> {
    const file = toFile(content, name);
    try {
      return await this.savedFile(name, file, options);
    } finally {
      // A handle filefield opened (File.open) is closed once the save is over, stored or refused.
      await file.closeIfOwned();
    }
  }

  private async savedFile(name: string | null, file: File, options: SaveOptions): Promise<string> {
    const requested = name ?? file.name;
    if (requested === null || requested === undefined) {
      throw new SuspiciousFileOperation("Could not derive file name from 'None'");
    }
    validateFileName(requested, { allowRelativePath: true });
    assertUsableName(requested);
    const { maxLength = null, beforePublish, ...given } = options;
    const available = await this.getAvailableName(requested, { maxLength });
    validateFileName(available, { allowRelativePath: true });
    assertUsableName(available);
    const limited = withSizeLimit(file, settings.FILE_UPLOAD_MAX_SIZE);
    const headers = await this.headersFor(limited, given);
    const reported = beforePublish ? new DigestReportingFile(limited, available, beforePublish) : limited;
    if (headers !== null) headersOfContent.set(reported, headers);
    const stored = await this._save(available, reported);
    validateFileName(stored, { allowRelativePath: true });
    return stored;
  }

  /** The object headers of a save: the given ones over the backend's defaults, the type sniffed once when needed. */
  private async headersFor(file: File, given: ObjectHeaders): Promise<ObjectHeaders | null> {
    const headers: ObjectHeaders = { ...this.driver?.defaultHeaders?.() };
    for (const [key, value] of Object.entries(given) as Array<[keyof ObjectHeaders, never]>) {
      if (value !== undefined) headers[key] = value;
    }
    if (this.capabilities.contentTypes && headers.contentType === undefined) headers.contentType = await sniffContentType(file);
    return Object.keys(headers).length === 0 ? null : headers;
  }

  /**
   * Writes the content under `name` (which save() has checked) and returns the name it used. A subclass
   * written Django's way overrides it (and may call super._save()); the built-in backends write through
   * their driver, with one bounded loop over free names when another writer takes the name first.
   */
  protected async _save(name: string, content: File): Promise<string> {
    const driver = this.requireDriver('_save');
    const watched = new WatchedContent(content);
    const claim = this.claim(name, watched, content);
    try {
      return await driver.write({ content: watched, headers: headersOfContent.get(content) ?? {}, replace: this.replacesExistingFiles, claim });
    } catch (error) {
      if (watched.error !== undefined && error === watched.error) {
        if (typeof error === 'object' && error !== null) contentErrors.add(error);
        throw error;
      }
      throw this.failure('save', claim.name, error);
    }
  }

  /** The name a write goes to, and the loop that moves it to the next free name when it is taken. */
  private claim(name: string, content: WatchedContent | null, reported: File | null = null): NameClaim {
    let attempts = 1;
    const claim = {
      name,
      key: this.keyOf(name),
      taken: async (cause: unknown, options: { rereadsContent?: boolean } = {}): Promise<void> => {
        if (this.replacesExistingFiles) throw cause;
        if (options.rereadsContent && content !== null && !content.seekable) {
          throw new NameLostError('another writer took the name while the content was sent, and the content cannot be read again', { cause });
        }
        if (++attempts > MAX_NAME_ATTEMPTS) {
          throw new NamesExhaustedError(`the storage refused to create each of ${MAX_NAME_ATTEMPTS} free names in turn`, { cause });
        }
        // Without maxLength, as Django's FileSystemStorage does for the same race.
        const next = await this.getAvailableName(claim.name);
        validateFileName(next, { allowRelativePath: true });
        assertUsableName(next);
        claim.name = next;
        claim.key = this.keyOf(next);
        // Before the driver publishes under it: save()'s beforePublish (the journal) hears of the new name.
        if (reported !== null) await this.publishingUnder(reported, next);
      },
    };
    return claim;
  }

  /**
   * For backends whose _save() finds the name taken at the last moment and takes another: call this with
   * the new name before publishing under it, so that save()'s beforePublish hears of it.
   */
  protected async publishingUnder(content: File, name: string): Promise<void> {
    if (content instanceof DigestReportingFile) await content.renamed(name);
  }

  open(name: string): Promise<File> {
    return this.invoke('open', name, () => this._open(name));
  }

  /** Opens the stored file for reading (overridable Django's way). */
  protected async _open(name: string): Promise<File> {
    return this.requireDriver('_open').read(this.keyOf(name), name);
  }

  /** Reads part of a stored file (bytes start to end, inclusive). */
  openRange(name: string, range: ByteRange): Promise<File> {
    return this.invoke('open', name, async () => this.requireDriver('openRange').read(this.keyOf(name), name, range));
  }

  /** Whether delete('') is refused (Django's FileSystemStorage) rather than a no-op (its InMemoryStorage). */
  protected get guardsDelete(): boolean {
    return true;
  }

  /** A name as the storage would keep it: Django's get_valid_filename by default. */
  getValidName(name: string): string {
    return getValidFilename(name);
  }

  /**
   * Whether saving under a taken name replaces that file (Django's allow_overwrite, django-storages'
   * file_overwrite); then a name only ever changes to fit maxLength.
   */
  protected get replacesExistingFiles(): boolean {
    return this.driver?.replacesExisting ?? false;
  }

  /** A name for a clash: `root_XXXXXXX.ext`, seven random letters and digits (no suffix when files are replaced). */
  getAlternativeName(fileRoot: string, fileExt: string): string {
    return this.replacesExistingFiles ? fileRoot + fileExt : `${fileRoot}_${randomString(7)}${fileExt}`;
  }

  /** Whether `name` can be used as it is: not longer than `maxLength`, and free (or replaceable). */
  async isNameAvailable(name: string, maxLength: number | null = null): Promise<boolean> {
    if (maxLength && codePointLength(name) > maxLength) return false;
    return this.replacesExistingFiles || !(await this.exists(name));
  }

  /** A free name close to `name`: the same folder and extensions, a random suffix on the root when needed. */
  async getAvailableName(name: string, options: SaveOptions = {}): Promise<string> {
    const maxLength = options.maxLength ?? null;
    let candidate = name.replaceAll('\\', '/');
    const [dirName, fileName] = split(candidate);
    if (pathParts(dirName).includes('..')) throw traversal(dirName);
    validateFileName(fileName);
    const fileExt = suffixes(fileName).join('');
    let fileRoot = fileExt ? fileName.slice(0, fileName.length - fileExt.length) : fileName;
    while (!(await this.isNameAvailable(candidate, maxLength))) {
      candidate = join(dirName, this.getAlternativeName(fileRoot, fileExt));
      if (maxLength === null) continue;
      const truncation = codePointLength(candidate) - maxLength;
      if (truncation > 0) {
        const rootChars = Array.from(fileRoot);
        fileRoot = rootChars.slice(0, Math.max(0, rootChars.length - truncation)).join('');
        if (!fileRoot) {
          throw new SuspiciousFileOperation(
            `Storage can not find an available filename for "${candidate}". `
              + 'Please make sure that the corresponding file field allows sufficient "max_length".',
          );
        }
        candidate = join(dirName, this.getAlternativeName(fileRoot, fileExt));
      }
    }
    return candidate;
  }

  /** The name a FileField hands to save(): folders kept, the last part made valid, `.` segments dropped. */
  generateFilename(filename: string): string {
    const [dirName, baseName] = split(filename.replaceAll('\\', '/'));
    if (pathParts(dirName).includes('..')) throw traversal(dirName);
    return normpath(join(dirName, this.getValidName(baseName)));
  }

  /** The local absolute path; only storages that declare local paths have one. */
  path(name: string): string {
    const path = this.isLocal ? this.driver?.path : undefined;
    if (path === undefined) throw new Error("This backend doesn't support absolute paths.");
    assertUsableName(name);
    return path.call(this.driver, name);
  }

  async delete(name: string): Promise<void> {
    return this.invoke('delete', name, async () => {
      if (!name && this.guardsDelete) throw new Error('The name must be given to delete().');
      const driver = this.requireDriver('delete');
      const key = this.keyOf(name);
      await driver.remove(key);
    });
  }

  async exists(name: string): Promise<boolean> {
    return this.invoke('exists', name, async () => {
      const driver = this.requireDriver('exists');
      // The root is no file; the storage's own files are no user's.
      if (name === '' || isReservedName(name)) return false;
      return driver.exists(this.keyOf(name));
    });
  }

  /** The folders and files directly inside `path`, as `[dirs, files]`. */
  async listdir(path: string): Promise<[string[], string[]]> {
    return this.invoke('listdir', path, async () => {
      // A folder can show on more than one page of a flat key space: listed once.
      const directories = new Set<string>();
      const files: string[] = [];
      for await (const page of this.pages(path, false)) {
        for (const folder of page.folders) directories.add(folder);
        files.push(...page.files.map((file) => file.name));
      }
      return [[...directories], files];
    });
  }

  /** The pages of a folder's listing, with the storage's own files (temporary, kept headers) left out. */
  private async *pages(path: string, recursive: boolean, withDetails = false, pageSize = LIST_PAGE_SIZE): AsyncGenerator<ListPage, void, undefined> {
    const driver = this.requireDriver('listdir');
    const key = this.keyOf(path);
    let cursor: string | null = null;
    do {
      const page: ListPage = await driver.list(key, { recursive, withDetails, cursor, pageSize });
      yield {
        folders: page.folders.filter((folder) => !isReservedName(folder)),
        files: page.files.filter((file) => !isReservedName(file.name)),
        cursor: page.cursor,
      };
      cursor = page.cursor;
    } while (cursor !== null);
  }

  /**
   * Every file under a folder ('' for all), as `{ name, size, modifiedTime }`, streamed a page at a time
   * (never one call for a whole bucket); with `recursive: false`, the folder's own files only.
   */
  listAll(prefix = '', options: ListAllOptions = {}): AsyncIterable<ListedEntry> {
    const { recursive = true, pageSize = LIST_PAGE_SIZE } = options;
    const flat = recursive && this.capabilities.flatListing;
    const walk = async function* (this: Storage, folder: string): AsyncGenerator<ListedEntry, void, undefined> {
      const below = (entry: string) => (folder === '' ? entry : `${folder.replace(/\/+$/, '')}/${entry}`);
      const subfolders: string[] = [];
      for await (const page of this.pages(folder, flat, true, pageSize)) {
        for (const file of page.files) yield { name: below(file.name), size: file.size, modifiedTime: file.modifiedTime };
        if (recursive && !flat) subfolders.push(...page.folders.map(below));
      }
      for (const subfolder of subfolders) yield* walk.call(this, subfolder);
    };
    const storage = this;
    return {
      [Symbol.asyncIterator]: () => {
        const entries = walk.call(storage, prefix);
        // Failures are worded as listAll's, as every other operation's are.
        return {
          next: () => storage.invoke('listAll', prefix, () => entries.next()),
          return: (value?: unknown) => entries.return(value as undefined),
        };
      },
    };
  }

  /** Deletes every file under a folder ('' for all) and returns how many. */
  async deleteAll(prefix: string): Promise<number> {
    return this.invoke('deleteAll', prefix, async () => {
      let deleted = 0;
      for await (const entry of this.listAll(prefix)) {
        await this.delete(entry.name);
        deleted++;
      }
      return deleted;
    });
  }

  /**
   * Copies a stored file to a new name (chosen as save() chooses one) and returns it: inside the service
   * where it can copy, else through this process, streamed. The object headers go along.
   */
  async copy(from: string, to: string): Promise<string> {
    return this.invoke('copy', from, async () => {
      const driver = this.requireDriver('copy');
      const fromKey = this.keyOf(from);
      if (!driver.copy) return this.copyTo(this, from, to);
      validateFileName(to, { allowRelativePath: true });
      assertUsableName(to);
      const available = await this.getAvailableName(to);
      validateFileName(available, { allowRelativePath: true });
      return driver.copy(fromKey, { headers: {}, replace: this.replacesExistingFiles, claim: this.claim(available, null) });
    });
  }

  /** Moves a stored file to a new name (chosen as save() chooses one): copied, then the original deleted. */
  async move(from: string, to: string): Promise<string> {
    return this.invoke('move', from, async () => {
      const moved = await this.copy(from, to);
      await this.delete(from);
      return moved;
    });
  }

  /** Copies a file of this storage into another one (streamed), with its object headers; the stored name there. */
  async copyTo(target: Storage, name: string, toName: string = name): Promise<string> {
    return this.invoke('copyTo', name, async () => {
      const headers = await this.headers(name);
      const file = await this.open(name);
      try {
        return await target.save(toName, file, headers);
      } finally {
        await file.close();
      }
    });
  }

  /** The object headers kept with a file (contentType, cacheControl, contentDisposition, metadata); {} when none. */
  async headers(name: string): Promise<ObjectHeaders> {
    return this.invoke('headers', name, async () => (this.driver === null ? {} : this.driver.headers(this.keyOf(name))));
  }

  async size(name: string): Promise<number> {
    return this.invoke('size', name, async () => (await this.statOf(name)).size);
  }

  private statOf(name: string): Promise<ObjectStat> {
    return this.requireDriver('stat').stat(this.keyOf(name));
  }

  url(name: string | null): string {
    if (this.driver === null) throw notImplemented('url');
    return this.driver.url(name);
  }

  /** A URL that grants access to the file for a limited time. */
  async signedUrl(name: string, options: SignedUrlOptions): Promise<string> {
    return this.invoke('signedUrl', name, async () => {
      const signedUrl = this.driver?.signedUrl;
      if (!signedUrl) throw notImplemented('signedUrl');
      return signedUrl.call(this.driver, this.keyOf(name), name, options.expiresIn);
    });
  }

  /**
   * A URL (and form fields or headers) that lets a browser upload one file straight to the storage: a free
   * name is chosen first, as save() chooses one, and returned with it. A POST sends `fields` then the file
   * in a part named `file` (S3's presigned POST); another method sends the raw bytes with `headers`. The
   * size is limited to maxSize and FILE_UPLOAD_MAX_SIZE where the service can enforce it; attachUploaded()
   * checks the bytes again in any case.
   */
  async signedUploadUrl(name: string, options: SignedUploadRequest): Promise<SignedUpload & { name: string }> {
    return this.invoke('signedUploadUrl', name, async () => {
      const signedUpload = this.driver?.signedUpload;
      if (!this.capabilities.uploadSigning || !signedUpload) throw notImplemented('signedUploadUrl');
      const { maxSize } = options;
      if (maxSize !== undefined && (!Number.isSafeInteger(maxSize) || maxSize < 0)) {
        throw new RangeError(`maxSize must be a number of bytes (a whole number, 0 or more), got ${maxSize}.`);
      }
      const limits = [maxSize, settings.FILE_UPLOAD_MAX_SIZE ?? undefined].filter((limit): limit is number => limit !== undefined);
      validateFileName(name, { allowRelativePath: true });
      assertUsableName(name);
      const available = await this.getAvailableName(name);
      validateFileName(available, { allowRelativePath: true });
      const request = { ...options, ...(limits.length === 0 ? {} : { maxSize: Math.min(...limits) }) };
      return { name: available, ...(await signedUpload.call(this.driver, this.keyOf(available), available, request)) };
    });
  }

  async getAccessedTime(name: string): Promise<Date> {
    return this.invoke('getAccessedTime', name, async () => (await this.statOf(name)).accessed);
  }

  async getCreatedTime(name: string): Promise<Date> {
    return this.invoke('getCreatedTime', name, async () => (await this.statOf(name)).created);
  }

  async getModifiedTime(name: string): Promise<Date> {
    return this.invoke('getModifiedTime', name, async () => (await this.statOf(name)).modified);
  }

  /**
   * Removes what saves killed mid-way left behind (temporary files of dead processes) and returns their
   * names; nothing for a backend whose writes leave nothing (a multipart upload never committed).
   */
  async removeAbandonedTemporaryFiles(): Promise<string[]> {
    return [];
  }

  /** What the shell and logs show for this storage. */
  describe(): string {
    return this.driver?.describe() ?? '';
  }

  [inspect.custom](): string {
    const details = this.describe();
    return `<${this.constructor.name}${details ? ' ' + details : ''}>`;
  }
}

/** A constructor of a Storage backend, as STORAGES' BACKEND may name one. */
export type StorageClass = new (options?: any) => Storage;
