/**
 * The driver contract: what a backend does with the bytes, and nothing else. A driver is I/O only; the
 * Storage base owns every policy (which names are acceptable, the retry when a name is taken, the size
 * limit, content sniffing, the delete guard, the wording of failures) and calls a driver with keys it has
 * already confined (see StorageDriver.keyOf).
 */
import type { File } from '../files/File.ts';

/** What a backend can do beyond the contract's core; the Storage base and its callers ask these, never guess. */
export interface DriverCapabilities {
  /**
   * Names have an absolute local path (path() works) and this process serves the bytes (the local disk,
   * memory); otherwise the service serves them at its own URLs.
   */
  readonly localPath: boolean;
  /** The service signs read URLs itself (S3, Azure) rather than through filefield serve. */
  readonly urlSigning: boolean;
  /** The service accepts uploads straight from a browser on a signed URL. */
  readonly uploadSigning: boolean;
  /** Copies happen inside the service, without the bytes passing through this process. */
  readonly serverSideCopy: boolean;
  /** The service keeps a Content-Type with each object, so saves need one (sniffed once when not given). */
  readonly contentTypes: boolean;
  /** list() can list a whole tree under a prefix in pages (a flat key space), not folder by folder. */
  readonly flatListing: boolean;
}

/** Object headers kept with a stored file and sent by the media server. */
export interface ObjectHeaders {
  contentType?: string;
  cacheControl?: string;
  contentDisposition?: string;
  metadata?: Record<string, string>;
}

export interface ObjectStat {
  isFolder: boolean;
  size: number;
  modified: Date;
  created: Date;
  accessed: Date;
}

export interface ListedFile {
  /** Relative to the listed folder ('a.txt', or 'sub/a.txt' in a flat listing). */
  name: string;
  size: number;
  modifiedTime: Date;
}

export interface ListPage {
  folders: string[];
  files: ListedFile[];
  /** Where the next page starts, or null after the last one. */
  cursor: string | null;
}

export interface ListRequest {
  recursive: boolean;
  /** Sizes and times of the files are wanted (a driver where they cost a call each may skip them otherwise). */
  withDetails: boolean;
  cursor: string | null;
  pageSize: number;
}

/**
 * The name a write goes to, chosen by the Storage base. A driver that finds it taken (create-only) calls
 * taken(), which chooses the next name (the one bounded retry loop, in the base) or throws.
 */
export interface NameClaim {
  readonly name: string;
  readonly key: string;
  /**
   * Moves the claim to the next free name, or throws (`cause` when names are replaced, or the loop is
   * over). `rereadsContent`: the next attempt reads the content again (a stream cannot be).
   */
  taken(cause: unknown, options?: { rereadsContent?: boolean }): Promise<void>;
}

export interface WriteRequest {
  content: File;
  headers: ObjectHeaders;
  /** Replace an existing object; otherwise the write is create-only. */
  replace: boolean;
  claim: NameClaim;
}

export interface ByteRange {
  start: number;
  /** Inclusive, as in HTTP; to the end when absent. */
  end?: number;
}

export interface StorageDriver {
  readonly capabilities: DriverCapabilities;
  /** Whether saving under a taken name replaces the file (the backend's overwrite option); false by default. */
  readonly replacesExisting?: boolean;
  /** The STORAGES alias of the storage using it (set by the Storage base), for the messages it words itself. */
  alias?: string | null;
  /**
   * The driver's key of a storage name, refused (SuspiciousFileOperation) when it leaves the storage's root.
   * Every operation goes through it first.
   */
  keyOf(name: string): string;
  /** Stores the content under the claim's key (trying further names through claim.taken()); returns the stored name. */
  write(request: WriteRequest): Promise<string>;
  read(key: string, name: string, range?: ByteRange): Promise<File>;
  /** Throws the backend's own "not found" when nothing is there. */
  stat(key: string): Promise<ObjectStat>;
  /** A file or a folder (a prefix of some file). */
  exists(key: string): Promise<boolean>;
  /** Removes a file, or an empty folder; a missing one is no error. */
  remove(key: string): Promise<void>;
  /** One page of a folder's entries. */
  list(folderKey: string, request: ListRequest): Promise<ListPage>;
  /** A server-side copy to the claim (create-only unless replace); the stored name. Only with serverSideCopy. */
  copy?(fromKey: string, request: Omit<WriteRequest, 'content'>): Promise<string>;
  /** The headers kept with a file ({} when none). */
  headers(key: string): Promise<ObjectHeaders>;
  /** Headers every save gets unless given (the backend's options). */
  defaultHeaders?(): ObjectHeaders;
  url(name: string | null): string;
  path?(name: string): string;
  signedUrl?(key: string, name: string, expiresIn: number): Promise<string>;
  signedUpload?(key: string, name: string, options: SignedUploadRequest): Promise<SignedUpload>;
  /** The backend's failure as the error a user sees (a StorageOperationError that says what to change). */
  failure?(operation: string, name: string | null, error: unknown, alias: string | null): Error;
  describe(): string;
}

export interface SignedUploadRequest {
  expiresIn: number;
  contentType?: string;
  maxSize?: number;
}

export interface SignedUpload {
  url: string;
  method: 'POST' | 'PUT';
  fields: Record<string, string>;
  headers: Record<string, string>;
}
