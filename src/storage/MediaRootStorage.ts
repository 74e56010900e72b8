/**
 * What FileSystemStorage and InMemoryStorage share: a location (MEDIA_ROOT by default) that names are
 * joined to without ever leaving it, and a base URL (MEDIA_URL by default) that names are served under.
 * Values not given to the constructor are read from the settings at each use, so configure() applies.
 */
import { resolve, sep } from 'node:path';
import { settings } from '../conf/settings.ts';
import { SuspiciousFileOperation } from '../errors.ts';
import { Storage } from './Storage.ts';
import type { SignedUpload, SignedUploadRequest, StorageDriver } from './driver.ts';
import { signUploadUrl, signUrl } from './signing.ts';
import { mediaUrl } from './urls.ts';

export interface MediaRootStorageOptions {
  location?: string | null;
  baseUrl?: string | null;
  filePermissionsMode?: number | null;
  directoryPermissionsMode?: number | null;
}

/** Whether `target` is `folder` or lies below it (both absolute and normalized). */
export function isInsideFolder(folder: string, target: string): boolean {
  return target === folder || target.startsWith(folder === sep ? folder : folder + sep);
}

/**
 * Django's safe_join: the lexical join of `base` and `name`, refused when it lies outside `base`.
 * An absolute name inside the base is accepted, as in Django.
 */
export function safeJoin(base: string, name: string): string {
  const basePath = resolve(base);
  const finalPath = resolve(basePath, name);
  if (!isInsideFolder(basePath, finalPath)) {
    throw new SuspiciousFileOperation(
      `The joined path (${finalPath}) is located outside of the base path component (${basePath})`,
    );
  }
  return finalPath;
}

/** The location and URLs of a media root, for the drivers that keep names under one. */
export class MediaRoot {
  readonly options: MediaRootStorageOptions;

  constructor(options: MediaRootStorageOptions = {}) {
    this.options = { ...options };
    // Django appends the missing slash to an explicit base_url (a settings MEDIA_URL is checked instead).
    const baseUrl = this.options.baseUrl;
    if (typeof baseUrl === 'string' && !baseUrl.endsWith('/')) this.options.baseUrl = baseUrl + '/';
  }

  /** The location as given (or MEDIA_ROOT). */
  get baseLocation(): string {
    return this.options.location ?? settings.MEDIA_ROOT;
  }

  /** The absolute folder every name lives under. */
  get location(): string {
    return resolve(this.baseLocation);
  }

  get baseUrl(): string | null {
    return this.options.baseUrl ?? settings.MEDIA_URL;
  }

  get filePermissionsMode(): number | null {
    return this.options.filePermissionsMode ?? settings.FILE_UPLOAD_PERMISSIONS;
  }

  get directoryPermissionsMode(): number | null {
    return this.options.directoryPermissionsMode ?? settings.FILE_UPLOAD_DIRECTORY_PERMISSIONS;
  }

  join(name: string): string {
    return safeJoin(this.location, name);
  }

  url(name: string | null): string {
    return mediaUrl(this.baseUrl, name);
  }

  /** A URL under MEDIA_URL that `filefield serve` (or verifySignedUrl) accepts until it expires. */
  signedUrl(name: string, expiresIn: number): string {
    // A signature grants access: only to a name of this storage. url() resolves '..' as urljoin does, so
    // url('../admin') is '/admin', a path outside MEDIA_URL that a server checking signatures would honour.
    this.join(name);
    return signUrl(this.url(name), expiresIn);
  }

  /** A PUT URL under MEDIA_URL that `filefield serve` accepts for one upload until it expires. */
  signedUpload(name: string, request: SignedUploadRequest): SignedUpload {
    this.join(name);
    return {
      url: signUploadUrl(this.url(name), request),
      method: 'PUT',
      fields: {},
      headers: request.contentType === undefined ? {} : { 'Content-Type': request.contentType },
    };
  }

  describe(): string {
    return `location=${this.location} baseUrl=${this.baseUrl ?? 'none'}`;
  }
}

/** What the drivers under a media root share: URLs under MEDIA_URL, signed by this project's key. */
export abstract class MediaRootDriver {
  constructor(readonly root: MediaRoot) {}

  url(name: string | null): string {
    return this.root.url(name);
  }

  async signedUpload(_key: string, name: string, request: SignedUploadRequest): Promise<SignedUpload> {
    return this.root.signedUpload(name, request);
  }

  async signedUrl(_key: string, name: string, expiresIn: number): Promise<string> {
    return this.root.signedUrl(name, expiresIn);
  }

  describe(): string {
    return this.root.describe();
  }
}

export abstract class MediaRootStorage extends Storage {
  protected readonly root: MediaRoot;

  constructor(root: MediaRoot, driver: StorageDriver) {
    super(driver);
    this.root = root;
  }

  protected get options(): MediaRootStorageOptions {
    return this.root.options;
  }

  get baseLocation(): string {
    return this.root.baseLocation;
  }

  get location(): string {
    return this.root.location;
  }

  get baseUrl(): string | null {
    return this.root.baseUrl;
  }

  get filePermissionsMode(): number | null {
    return this.root.filePermissionsMode;
  }

  get directoryPermissionsMode(): number | null {
    return this.root.directoryPermissionsMode;
  }
}
