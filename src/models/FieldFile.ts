/**
 * FieldFile: the value of a FileField on an instance. It names a file in the field's storage and knows
 * what the row recorded about it (size, content type, image size), so reading those costs no storage call.
 */
import { inspect } from 'node:util';
import { FieldError, FileTooLarge, ValidationError } from '../errors.ts';
import { settings } from '../conf/settings.ts';
import type { ContentDigest } from '../files/digest.ts';
import { ContentFile, File, formatBytes } from '../files/File.ts';
import { StructureCheckedFile } from '../files/imageVerification.ts';
import { toFile, type Savable } from '../storage/Storage.ts';
import type { Storage } from '../storage/Storage.ts';
import type { FileField, ImageField } from './FileField.ts';
import type { Model } from './Model.ts';
import { activeDatabase } from './activeDatabase.ts';
import { RowFiles } from './rowFiles.ts';
import { isReferenced } from './cleanup.ts';

/** What a row records about a stored file besides its name. */
export interface FileMetadata {
  size?: number;
  contentType?: string;
  width?: number;
  height?: number;
  /** The extension the bytes call for (images); used to correct the name, not stored. */
  extension?: string;
}

/** Called around the moment bytes reach the storage, so a model save can journal them. */
export interface StoreHooks {
  beforeStore(requestedName: string): Promise<void>;
  /** Storage.save's option of the same name: before the file can appear under `name`. */
  beforePublish(name: string, digest: ContentDigest): Promise<void>;
  afterStore(storedName: string): Promise<void>;
}

export interface SaveFileOptions {
  /** Also save the instance's row (default true). */
  save?: boolean;
}

interface Pending {
  name: string | null;
  file: File;
}

export class FieldFile extends File {
  declare name: string;
  instance: Model;
  readonly field: FileField;
  private recorded: FileMetadata;
  private pending: Pending | null = null;
  /** Journal entries of a file stored with `save: false`, closed when the row is written. */
  private awaitingRow: RowFiles | null = null;

  constructor(instance: Model, field: FileField, name: string, metadata: FileMetadata = {}) {
    super(null, name);
    this.instance = instance;
    this.field = field;
    const { extension: _ignored, ...kept } = metadata;
    this.recorded = kept;
  }

  get storage(): Storage {
    return this.field.storage;
  }

  /** What the row records about the file (size, contentType, and width/height for images). */
  get metadata(): FileMetadata {
    return { ...this.recorded };
  }

  /** False until content assigned to the attribute has been stored (by saving the instance). */
  get committed(): boolean {
    return this.pending === null;
  }

  protected requireFile(): void {
    if (!this.name) throw new Error(`The '${this.field.name}' attribute has no file associated with it.`);
  }

  private requireRecorded<K extends keyof FileMetadata>(key: K, what: string): NonNullable<FileMetadata[K]> {
    this.requireFile();
    const value = this.recorded[key];
    if (value === undefined || value === null) {
      throw new Error(`The ${what} of '${this.name}' is not known yet: save the instance or await ${this.field.name}.refreshMetadata().`);
    }
    return value as NonNullable<FileMetadata[K]>;
  }

  get path(): string {
    this.requireFile();
    return this.storage.path(this.name);
  }

  get url(): string {
    this.requireFile();
    return this.storage.url(this.name);
  }

  override get size(): number {
    if (this.pending) {
      this.requireFile();
      return this.pending.file.size;
    }
    return this.requireRecorded('size', 'size');
  }

  override set size(value: number) {
    this.recorded.size = value;
  }

  get contentType(): string {
    return this.requireRecorded('contentType', 'content type');
  }

  /** Content to store under `name` when the instance is saved (Django's assignment of a File). */
  stage(name: string | null, file: File): void {
    this.pending = { name, file };
  }

  /**
   * Stores `content` under a name made from `name` by the field's uploadTo and the storage, records it,
   * and (unless `save: false`) saves the instance, all or nothing.
   */
  async save(name: string, content: Savable, options: SaveFileOptions = {}): Promise<this> {
    const file = toFile(content, name);
    if (options.save ?? true) {
      this.stage(name, file);
      this.instance.replaceValue(this.field.name, this);
      await this.instance.save();
    } else {
      // Journaled until the instance's row is written, so that a crash before then leaves no orphan.
      const rowFiles = new RowFiles((await activeDatabase()).uploads, (this.instance.constructor as typeof Model).tableName);
      try {
        await this.store(name, file, rowFiles.hooks(this.field.name));
      } catch (error) {
        await rowFiles.close();
        throw error;
      }
      await this.rowWritten();
      rowFiles.awaitRow();
      this.awaitingRow = rowFiles;
    }
    return this;
  }

  /** The row now refers to this file (or no longer waits for it): its journal entry is closed. */
  async rowWritten(): Promise<void> {
    const rowFiles = this.awaitingRow;
    this.awaitingRow = null;
    await rowFiles?.close();
  }

  /** Stores staged content, if any (the model's save calls this before writing the row). */
  async commitPending(hooks?: StoreHooks): Promise<boolean> {
    if (!this.pending) return false;
    const { name, file } = this.pending;
    if (name === null || name === '') {
      const error = new FieldError(`File for ${this.field.name} must have the name attribute specified to be saved.`);
      if (file instanceof ContentFile) error.message += " Pass a 'name' argument to ContentFile.";
      throw error;
    }
    await this.store(name, file, hooks);
    return true;
  }

  private async store(name: string, file: File, hooks?: StoreHooks): Promise<void> {
    try {
      await this.storeOpen(name, file, hooks);
    } finally {
      await file.closeIfOwned(); // also when the field refuses the content before the storage sees it
    }
  }

  private async storeOpen(name: string, file: File, hooks?: StoreHooks): Promise<void> {
    const metadata = await this.field.inspect(file);
    const requested = this.field.generateFilename(this.instance, this.field.nameFor(name, metadata));
    await hooks?.beforeStore(requested);
    const content = this.field.contentToStore(file, metadata);
    let stored: string;
    try {
      stored = await this.storage.save(requested, content, { maxLength: this.field.maxLength, beforePublish: hooks?.beforePublish });
    } catch (error) {
      // The field's refusal, even where a storage reports the failed read of the content in its own terms.
      throw (content instanceof StructureCheckedFile && content.failure) || error;
    }
    await hooks?.afterStore(stored);
    this.adopt(stored, metadata, file.sizeIfKnown ?? (await this.storage.size(stored)));
  }

  /** Records a stored file as this field's: its name and what the checks learned. */
  private adopt(name: string, metadata: FileMetadata, size: number): void {
    const { extension: _ignored, ...kept } = metadata;
    this.closeQuietly();
    this.name = name;
    this.recorded = { ...kept, size };
    this.pending = null;
    this.field.valueAssigned(this.instance, this);
  }

  /**
   * Adopts a file a browser uploaded straight to the storage (storage.signedUploadUrl()): its bytes are
   * checked as save() checks them (FILE_UPLOAD_MAX_SIZE, and for an ImageField the whole image), a refused
   * file is deleted, and an accepted one is recorded and (unless `save: false`) the row saved. A name that
   * a row already refers to is refused and left alone: an upload can never adopt, or delete, another's file.
   */
  async attachUploaded(name: string, options: SaveFileOptions = {}): Promise<this> {
    const storage = this.storage;
    if (await isReferenced(name)) {
      throw new ValidationError(`${this.field.name}: '${name}' is a file that a row already refers to, not a new upload.`, { code: 'invalid_upload' });
    }
    if (!(await storage.exists(name))) {
      throw new ValidationError(`${this.field.name}: no uploaded file '${name}' is in the storage.`, { code: 'missing_upload' });
    }
    let metadata: FileMetadata;
    let size: number;
    try {
      size = await storage.size(name);
      const limit = settings.FILE_UPLOAD_MAX_SIZE;
      if (limit !== null && size > limit) throw new FileTooLarge(limit);
      const opened = await storage.open(name);
      try {
        metadata = await this.field.inspect(opened);
        // Read to the end through what save() would store, so that the field's whole-file checks run.
        for await (const _piece of this.field.contentToStore(opened, metadata).chunks()) { /* checked as it streams */ }
      } finally {
        await opened.close();
      }
    } catch (error) {
      if (error instanceof ValidationError) await storage.delete(name).catch(() => undefined);
      throw error;
    }
    this.adopt(name, metadata, size);
    if (options.save ?? true) await this.instance.save();
    return this;
  }

  /** Reads size and type from the storage, for a name assigned by hand (a loaded row already has them). */
  async refreshMetadata(): Promise<FileMetadata> {
    this.requireFile();
    const opened = await this.storage.open(this.name);
    try {
      const metadata = await this.field.inspect(opened);
      const { extension: _ignored, ...kept } = metadata;
      this.recorded = { ...kept, size: opened.sizeIfKnown ?? (await this.storage.size(this.name)) };
    } finally {
      await opened.close();
    }
    this.field.valueAssigned(this.instance, this);
    return this.metadata;
  }

  /** The state to return to if a save fails after this file was stored. */
  snapshot(): () => void {
    const { name, recorded, pending } = this;
    return () => {
      this.name = name;
      this.recorded = recorded;
      // The content is still to be stored: a later save must store it again, not take `name` as stored.
      this.pending = pending;
      this.field.valueAssigned(this.instance, this);
    };
  }

  /** Deletes the file from the storage and empties the field; saves the row unless `save: false`. */
  async delete(options: SaveFileOptions = {}): Promise<void> {
    if (!this.name) return;
    await this.close();
    await this.storage.delete(this.name);
    await this.rowWritten();
    this.name = '';
    this.recorded = {};
    this.pending = null;
    this.field.valueAssigned(this.instance, this);
    if (options.save ?? true) await this.instance.save();
  }

  /** Opens the stored file (or the staged content) for reading from the start. */
  override async open(): Promise<this> {
    this.requireFile();
    if (this.pending) {
      this.adoptSource(this.pending.file);
    } else if (this.closed) {
      this.adoptSource(await this.storage.open(this.name));
    }
    return super.open();
  }

  override async read(length?: number): Promise<Uint8Array> {
    if (this.closed) await this.open();
    return super.read(length);
  }

  override async *chunks(chunkSize?: number): AsyncGenerator<Uint8Array, void, undefined> {
    if (this.closed) await this.open();
    yield* super.chunks(chunkSize);
  }

  override peekStart(length: number): Promise<Uint8Array> {
    return this.open().then(() => super.peekStart(length));
  }

  /** A URL that grants access for `expiresIn` seconds (the storage decides how it is signed). */
  async signedUrl(options: { expiresIn: number }): Promise<string> {
    this.requireFile(); // rejects (never throws synchronously), as every Promise-returning method
    return this.storage.signedUrl(this.name, options);
  }

  /** Django compares FieldFiles by name, and a FieldFile with its name string. */
  equals(other: unknown): boolean {
    if (other instanceof File) return this.name === (other.name ?? '');
    return this.name === other;
  }

  toJSON(): string {
    return this.name;
  }

  override toString(): string {
    return this.name;
  }

  private closeQuietly(): void {
    if (!this.closed) void this.close().catch(() => undefined);
  }

  protected describeParts(): string[] {
    const parts = [this.name];
    if (this.pending) parts.push('(not saved yet)');
    if (this.recorded.size !== undefined) parts.push(formatBytes(this.recorded.size));
    if (this.recorded.contentType) parts.push(this.recorded.contentType);
    return parts;
  }

  /**
   * One line, or (when that is longer than the caller's breakLength, a narrow terminal) the name, then
   * the facts, path and URL on short lines of their own. A file not saved yet has neither path nor URL.
   */
  override [inspect.custom](_depth?: number, options?: { breakLength?: number }): string {
    if (!this.name) return `<${this.constructor.name}: None>`;
    const [name, ...facts] = this.describeParts();
    const places: string[] = [];
    if (!this.pending) {
      // Only a storage that declares local paths has one to show.
      const shown = this.storage.isLocal ? [['path', () => this.path], ['url', () => this.url]] as const : [['url', () => this.url]] as const;
      for (const [label, read] of shown) {
        try {
          places.push(`${label}=${read()}`);
        } catch {
          // A name the storage refuses has no path; a storage without URLs has no url.
        }
      }
    }
    const oneLine = `<${this.constructor.name}: ${[name, ...facts, ...places].join(' ')}>`;
    if (oneLine.length <= (options?.breakLength ?? Infinity)) return oneLine;
    const lines = [`<${this.constructor.name}: ${name}`, ...(facts.length ? [facts.join(' ')] : []), ...places];
    return lines.join('\n  ') + '>';
  }
}

export class ImageFieldFile extends FieldFile {
  declare readonly field: ImageField;

  get width(): number {
    return this.requireRecordedNumber('width');
  }

  get height(): number {
    return this.requireRecordedNumber('height');
  }

  private requireRecordedNumber(key: 'width' | 'height'): number {
    this.requireFile();
    const value = this.metadata[key];
    if (value === undefined) {
      throw new Error(`The ${key} of '${this.name}' is not known yet: save the instance or await ${this.field.name}.refreshMetadata().`);
    }
    return value;
  }

  protected override describeParts(): string[] {
    const parts = super.describeParts();
    const { width, height } = this.metadata;
    if (width !== undefined && height !== undefined) parts.splice(1, 0, `${width}×${height}`);
    return parts;
  }
}
