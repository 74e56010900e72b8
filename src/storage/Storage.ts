/**
 * Storage: the abstract backend API (Django's django.core.files.storage.Storage).
 *
 * The name checks live in save() of this class, before and after choosing an available name and on the
 * name the backend returns, so that no backend can skip them (Django's CVE-2021-45452 and CVE-2024-39330).
 */
import { randomInt } from 'node:crypto';
import { inspect } from 'node:util';
import { SuspiciousFileOperation } from '../errors.ts';
import { StorageOperationError } from './operationError.ts';
import { ContentFile, File, type FileSource } from '../files/File.ts';
import { DigestReportingFile, type ContentDigest } from '../files/digest.ts';
import { withSizeLimit } from '../files/limits.ts';
import { getValidFilename, validateFileName } from '../files/names.ts';
import { join, normpath, pathParts, split, suffixes } from '../files/pythonPath.ts';
import { settings } from '../conf/settings.ts';

/** Anything save() accepts as content: a File, raw bytes, or what a File wraps (never a string: see toFile()). */
export type Savable = File | FileSource | Uint8Array;

export interface SaveOptions {
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

const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A random string from a CSPRNG, as Django's get_random_string. */
export function randomString(length: number, alphabet = ALPHANUMERIC): string {
  let result = '';
  for (let index = 0; index < length; index++) result += alphabet[randomInt(alphabet.length)];
  return result;
}

/** Python's len(): code points, not UTF-16 units, so limits agree with Django's for any name. */
export function codePointLength(text: string): number {
  let length = 0;
  for (const _ of text) length++;
  return length;
}

function notImplemented(method: string): Error {
  return new Error(`subclasses of Storage must provide a${/^[aeiou]/.test(method) ? 'n' : ''} ${method}() method`);
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

export abstract class Storage {
  /** The STORAGES alias this instance was made for (set by `storages`), for messages. */
  alias: string | null = null;

  /** Writes the content under `name` (which save() has checked) and returns the name it used. */
  protected abstract _save(name: string, content: File): Promise<string>;
  /** Opens the stored file for reading. */
  protected abstract _open(name: string): Promise<File>;

  /**
   * Stores the content under `name` (or the content's own name), choosing a free name when it is taken,
   * and returns the name actually used.
   */
  async save(name: string | null, content: Savable, options: SaveOptions = {}): Promise<string> {
    try {
      return await this.checkedSave(name, content, options);
    } catch (error) {
      // save() looks for a free name (exists()) before writing: report a service failure there as the save's.
      throw error instanceof StorageOperationError ? error.during('save') : error;
    }
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
    const available = await this.getAvailableName(requested, { maxLength: options.maxLength ?? null });
    validateFileName(available, { allowRelativePath: true });
    const limited = withSizeLimit(file, settings.FILE_UPLOAD_MAX_SIZE);
    const { beforePublish } = options;
    const reported = beforePublish ? new DigestReportingFile(limited, available, beforePublish) : limited;
    const stored = await this._save(available, reported);
    validateFileName(stored, { allowRelativePath: true });
    return stored;
  }

  /**
   * For backends whose _save() finds the name taken at the last moment and takes another: call this with
   * the new name before publishing under it, so that save()'s beforePublish hears of it.
   */
  protected async publishingUnder(content: File, name: string): Promise<void> {
    if (content instanceof DigestReportingFile) await content.renamed(name);
  }

  open(name: string): Promise<File> {
    return this._open(name);
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
    return false;
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

  /** The local absolute path; only storages on the local filesystem have one. */
  path(_name: string): string {
    throw new Error("This backend doesn't support absolute paths.");
  }

  async delete(_name: string): Promise<void> {
    throw notImplemented('delete');
  }

  async exists(_name: string): Promise<boolean> {
    throw notImplemented('exists');
  }

  /** The folders and files directly inside `path`, as `[dirs, files]`. */
  async listdir(_path: string): Promise<[string[], string[]]> {
    throw notImplemented('listdir');
  }

  async size(_name: string): Promise<number> {
    throw notImplemented('size');
  }

  url(_name: string | null): string {
    throw notImplemented('url');
  }

  /** A URL that grants access to the file for a limited time. */
  async signedUrl(_name: string, _options: SignedUrlOptions): Promise<string> {
    throw notImplemented('signedUrl');
  }

  async getAccessedTime(_name: string): Promise<Date> {
    throw notImplemented('getAccessedTime');
  }

  async getCreatedTime(_name: string): Promise<Date> {
    throw notImplemented('getCreatedTime');
  }

  async getModifiedTime(_name: string): Promise<Date> {
    throw notImplemented('getModifiedTime');
  }

  /** What the shell and logs show for this storage. */
  describe(): string {
    return '';
  }

  [inspect.custom](): string {
    const details = this.describe();
    return `<${this.constructor.name}${details ? ' ' + details : ''}>`;
  }
}

/** A constructor of a Storage backend, as STORAGES' BACKEND may name one. */
export type StorageClass = new (options?: any) => Storage;
