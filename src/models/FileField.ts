/**
 * FileField and ImageField: a column that holds a reference (a name) to a file kept in a storage.
 */
import { ImproperlyConfigured, ValidationError } from '../errors.ts';
import { File } from '../files/File.ts';
import { sniffContentType } from '../files/contentType.ts';
import { inspectImage, type ImageInfo, type InspectOptions } from '../files/imageInspection.ts';
import { StructureCheckedFile } from '../files/imageVerification.ts';
import { validateFileName } from '../files/names.ts';
import { join, suffixes } from '../files/pythonPath.ts';
import { storages } from '../storage/handler.ts';
import { Storage } from '../storage/Storage.ts';
import type { Column, Row } from '../db/schema.ts';
import { Field, type SaveContext } from './fields.ts';
import { FieldFile, ImageFieldFile, type FileMetadata } from './FieldFile.ts';
import type { Model } from './Model.ts';

export type UploadTo = string | ((instance: any, filename: string) => string);
export type StorageOption = Storage | string | (() => Storage) | (new () => Storage);

export interface FileFieldOptions {
  blank?: boolean;
  null?: boolean;
  /** A folder prefix (strftime tokens %Y %m %d %H %M %S allowed) or a function returning the whole name. */
  uploadTo?: UploadTo;
  /**
   * A Storage, a STORAGES alias, a Storage subclass (made with `new`, as Django does), or a function
   * returning a Storage (called once, on first use, as the subclass is).
   */
  storage?: StorageOption;
  /** The longest stored name; longer candidates are shortened by the storage. */
  maxLength?: number;
  /**
   * Remove the old file when it is replaced or the row deleted, once the row change is committed, unless
   * another row still refers to it (django-cleanup's behaviour). Off by default, as in Django.
   */
  cleanup?: boolean;
}

const STRFTIME_TOKENS: Record<string, (date: Date) => string> = {
  Y: (date) => String(date.getFullYear()).padStart(4, '0'),
  m: (date) => String(date.getMonth() + 1).padStart(2, '0'),
  d: (date) => String(date.getDate()).padStart(2, '0'),
  H: (date) => String(date.getHours()).padStart(2, '0'),
  M: (date) => String(date.getMinutes()).padStart(2, '0'),
  S: (date) => String(date.getSeconds()).padStart(2, '0'),
  '%': () => '%',
};

/** Python's strftime for the tokens upload_to uses, in local time as Django's datetime.now(). */
export function strftime(format: string, date: Date = new Date()): string {
  return format.replace(/%(.)/g, (token, letter: string) => STRFTIME_TOKENS[letter]?.(date) ?? token);
}

function isStorageClass(value: unknown): value is new () => Storage {
  return typeof value === 'function' && value.prototype instanceof Storage;
}

/** A class (which cannot be called without `new`), told from a plain function by its source. */
function isClass(value: Function): boolean {
  return /^class[\s{]/.test(Function.prototype.toString.call(value));
}

/** What a wrong storage option is, in words, for the TypeError. */
function describeGiven(given: unknown): string {
  if (typeof given === 'function') return isClass(given) ? `the class ${given.name || '(anonymous)'}, which does not extend Storage` : 'a function';
  if (given === null) return 'null';
  if (Array.isArray(given)) return 'an array';
  if (typeof given !== 'object') return `the ${typeof given} ${String(given)}`;
  const kind = (given as object).constructor;
  return kind === Object || !kind ? 'a plain object' : `a ${kind.name} object`;
}

export class FileField extends Field<FieldFile> {
  readonly uploadTo: UploadTo;
  readonly maxLength: number;
  readonly cleanup: boolean;
  private readonly storageOption: StorageOption | undefined;
  private resolvedStorage: Storage | undefined;

  constructor(options: FileFieldOptions = {}) {
    super({ blank: options.blank, null: options.null });
    this.uploadTo = options.uploadTo ?? '';
    this.maxLength = options.maxLength ?? 100;
    this.cleanup = options.cleanup ?? false;
    this.storageOption = options.storage;
    if (typeof this.uploadTo === 'string' && this.uploadTo.startsWith('/')) {
      throw new ImproperlyConfigured(
        `${this.constructor.name}'s 'uploadTo' argument must be a relative path, not an absolute path: remove the leading slash.`,
      );
    }
    const option = this.storageOption;
    const valid = option === undefined || typeof option === 'string' || option instanceof Storage
      || (typeof option === 'function' && (isStorageClass(option) || !isClass(option)));
    if (!valid) throw this.invalidStorage(option);
  }

  private invalidStorage(given: unknown): TypeError {
    return new TypeError(
      `${this.constructor.name}.storage must be a Storage, a Storage subclass, a STORAGES alias or a function returning a Storage; got ${describeGiven(given)}.`,
    );
  }

  /** The storage files of this field live in; an alias is looked up at each use, so settings changes apply. */
  get storage(): Storage {
    const option = this.storageOption;
    if (option === undefined) return storages.get('default');
    if (typeof option === 'string') return storages.get(option);
    if (option instanceof Storage) return option;
    if (!this.resolvedStorage) {
      const storage: unknown = isStorageClass(option) ? new option() : (option as () => Storage)();
      if (!(storage instanceof Storage)) throw this.invalidStorage(storage);
      this.resolvedStorage = storage;
    }
    return this.resolvedStorage;
  }

  /** The name handed to the storage: uploadTo applied, then checked, then the storage's own rules. */
  generateFilename(instance: Model | null, filename: string): string {
    const uploadTo = this.uploadTo;
    const name = typeof uploadTo === 'function'
      ? String(uploadTo(instance, filename))
      : join(strftime(uploadTo), filename);
    validateFileName(name, { allowRelativePath: true });
    return this.storage.generateFilename(name);
  }

  /**
   * Checks the content before anything is stored and returns what the row records about it.
   * A FileField takes any bytes; their type is sniffed, never taken from the name.
   */
  async inspect(file: File): Promise<FileMetadata> {
    return { contentType: await sniffContentType(file) };
  }

  /** What is handed to the storage: the content itself (an ImageField checks it as it streams). */
  contentToStore(file: File, _metadata: FileMetadata): File {
    return file;
  }

  /** The name to store under, given the original name and what inspect() found. */
  nameFor(originalName: string, _metadata: FileMetadata): string {
    return originalName;
  }

  makeFieldFile(instance: Model, name: string, metadata: FileMetadata = {}): FieldFile {
    return new FieldFile(instance, this, name, metadata);
  }

  initialValue(instance: Model): FieldFile {
    return this.makeFieldFile(instance, '');
  }

  /**
   * What Django's FileDescriptor does on assignment: a name (or null) refers to a stored file; a File is
   * content to store when the instance is saved; a FieldFile of another instance is taken over by name.
   */
  assign(value: unknown, instance: Model): FieldFile {
    if (value === null || value === undefined || value === '') return this.makeFieldFile(instance, '');
    if (typeof value === 'string') return this.makeFieldFile(instance, value);
    if (value instanceof FieldFile) {
      return value.instance === instance ? value : this.makeFieldFile(instance, value.name, value.metadata);
    }
    if (value instanceof File) {
      const fieldFile = this.makeFieldFile(instance, value.name ?? '');
      fieldFile.stage(value.name, value);
      return fieldFile;
    }
    throw new TypeError(`${this.name} takes a file name, a File or null, got ${typeof value}.`);
  }

  override get holdsFile(): boolean {
    return true;
  }

  override isEmpty(value: FieldFile): boolean {
    return !value.name;
  }

  /** What the save learned about the file, by the suffix of the column it is kept in. */
  protected metadataColumns(): [suffix: string, key: keyof FileMetadata, column: Omit<Column, 'name'>][] {
    return [
      ['_size', 'size', { type: 'integer', nullable: true }],
      ['_content_type', 'contentType', { type: 'text', nullable: true }],
    ];
  }

  /** The name (indexed: the media server looks rows up by it), then the metadata columns. */
  columns(): Column[] {
    return [
      { name: this.name, type: 'text', nullable: false, indexed: true },
      ...this.metadataColumns().map(([suffix, , column]) => ({ name: this.name + suffix, ...column })),
    ];
  }

  override toColumns(value: FieldFile): Record<string, unknown> {
    const metadata = value.name ? value.metadata : {};
    const columns: Record<string, unknown> = { [this.name]: value.name };
    for (const [suffix, key] of this.metadataColumns()) columns[this.name + suffix] = metadata[key] ?? null;
    return columns;
  }

  override fromColumns(row: Row, instance: Model): FieldFile {
    const name = row[this.name];
    if (typeof name !== 'string' || name === '') return this.makeFieldFile(instance, '');
    const metadata: Record<string, unknown> = {};
    for (const [suffix, key] of this.metadataColumns()) {
      const value = row[this.name + suffix];
      if (value !== null && value !== undefined) metadata[key] = value;
    }
    return this.makeFieldFile(instance, name, metadata as FileMetadata);
  }

  override queryValue(wanted: unknown): unknown {
    if (wanted instanceof FieldFile) return wanted.name;
    return wanted === null ? '' : wanted;
  }

  /** Django's FileField.pre_save: content assigned to the field is stored before the row is written. */
  override async preSave(instance: Model, context: SaveContext): Promise<void> {
    const fieldFile = (instance as unknown as Record<string, FieldFile>)[this.name]!;
    // A name assigned by hand is a reference only (as in Django): nothing is read, its metadata stays unknown.
    if (fieldFile.committed) return;
    await context.sweepAbandonedUploads();
    const restore = fieldFile.snapshot();
    let stored: string | null = null;
    // In place before the store starts: a failure after the bytes are stored (record, size) must remove them too.
    context.onFailure(async () => {
      restore();
      if (stored !== null) await this.storage.delete(stored);
    });
    await fieldFile.commitPending(context.storeHooks(this.name, (storedName) => {
      stored = storedName;
    }));
  }

  /** Files stored earlier with `save: false` have their row now. */
  override async postSave(instance: Model): Promise<void> {
    await (instance as unknown as Record<string, FieldFile>)[this.name]!.rowWritten();
  }
}

export interface ImageFieldOptions extends FileFieldOptions, InspectOptions {
  /** A field of the model kept equal to the image's width. */
  widthField?: string;
  /** A field of the model kept equal to the image's height. */
  heightField?: string;
}

const EQUIVALENT_EXTENSIONS: Record<string, string> = { '.jpeg': '.jpg', '.jpe': '.jpg', '.tiff': '.tif' };

function canonicalExtension(extension: string): string {
  const lower = extension.toLowerCase();
  return EQUIVALENT_EXTENSIONS[lower] ?? lower;
}

export class ImageField extends FileField {
  readonly widthField: string | undefined;
  readonly heightField: string | undefined;
  readonly inspectOptions: InspectOptions;

  constructor(options: ImageFieldOptions = {}) {
    super(options);
    this.widthField = options.widthField;
    this.heightField = options.heightField;
    this.inspectOptions = { allowedFormats: options.allowedFormats, allowSvg: options.allowSvg };
  }

  /** The bytes must be an image of an allowed type whose header parses; its size is read from it. */
  override async inspect(file: File): Promise<FileMetadata> {
    let info: ImageInfo;
    try {
      info = await inspectImage((length) => file.peekStart(length), this.inspectOptions);
    } catch (error) {
      throw error instanceof ValidationError ? this.fieldError(error) : error;
    }
    return { contentType: info.mime, width: info.width, height: info.height, extension: info.extension };
  }

  /**
   * The whole image must hold together to its end (as Pillow's verify(), which Django runs): checked as the
   * storage reads it, so that a truncated or forged image is refused before it is stored.
   */
  override contentToStore(file: File, metadata: FileMetadata): File {
    const format = metadata.extension?.slice(1);
    return format ? new StructureCheckedFile(file, format, (error) => this.fieldError(error)) : file;
  }

  private fieldError(error: ValidationError): ValidationError {
    return new ValidationError(`${this.name}: ${error.message}`, { code: error.code, params: { ...error.params, field: this.name } });
  }

  /** A name whose extension disagrees with the bytes gets the extension of what the bytes are. */
  override nameFor(originalName: string, metadata: FileMetadata): string {
    const detected = metadata.extension;
    if (!detected) return originalName;
    const slash = originalName.lastIndexOf('/');
    const base = originalName.slice(slash + 1);
    const current = suffixes(base).at(-1) ?? '';
    if (canonicalExtension(current) === canonicalExtension(detected)) return originalName;
    const root = current ? base.slice(0, base.length - current.length) : base;
    return originalName.slice(0, slash + 1) + root + detected;
  }

  override makeFieldFile(instance: Model, name: string, metadata: FileMetadata = {}): ImageFieldFile {
    return new ImageFieldFile(instance, this, name, metadata);
  }

  protected override metadataColumns(): ReturnType<FileField['metadataColumns']> {
    return [
      ...super.metadataColumns(),
      ['_width', 'width', { type: 'integer', nullable: true }],
      ['_height', 'height', { type: 'integer', nullable: true }],
    ];
  }

  /** Django's update_dimension_fields: widthField and heightField follow what is known of the image. */
  override valueAssigned(instance: Model, fieldFile: FieldFile): void {
    if (!this.widthField && !this.heightField) return;
    const { width, height } = fieldFile.name ? fieldFile.metadata : { width: undefined, height: undefined };
    if (this.widthField) instance.setFieldValue(this.widthField, width ?? null);
    if (this.heightField) instance.setFieldValue(this.heightField, height ?? null);
  }
}
