/**
 * filefield: Django's file fields and storages for TypeScript.
 */
export { File, ContentFile, DEFAULT_CHUNK_SIZE, type FileSource } from './files/File.ts';
export { getValidFilename, validateFileName, filepathToUri } from './files/names.ts';
export { Storage, type Savable, type SaveOptions, type SignedUrlOptions, type StorageClass } from './storage/Storage.ts';
export { FileSystemStorage, type FileSystemStorageOptions } from './storage/FileSystemStorage.ts';
export { InMemoryStorage } from './storage/InMemoryStorage.ts';
export { StorageHandler, storages, defaultStorage } from './storage/handler.ts';
export { verifySignedUrl, type SignedUrlCheck } from './storage/signing.ts';
export { StorageOperationError } from './storage/operationError.ts';
export {
  SuspiciousOperation, SuspiciousFileOperation, ImproperlyConfigured, InvalidStorageError, ValidationError,
  FileTooLarge, FieldError, DatabaseError, UnreadableDatabase, OutOfSpaceError, OperationalError, ProgrammingError,
} from './errors.ts';
export { settings, defineSettings, type Settings, type SettingsInput, type StorageConfig, type DatabaseConfig } from './conf/settings.ts';
export { configure, loadSettings, findSettingsFile } from './conf/load.ts';
export { ImageFile } from './files/ImageFile.ts';
export { Model, modelRegistry, type ModelClass } from './models/Model.ts';
export { Manager } from './models/Manager.ts';
export { QuerySet, DoesNotExist, MultipleObjectsReturned, type Query } from './models/QuerySet.ts';
export { Field, CharField, IntegerField, type FieldOptions, type CharFieldOptions } from './models/fields.ts';
export { FileField, ImageField, strftime, type FileFieldOptions, type ImageFieldOptions, type UploadTo } from './models/FileField.ts';
export { FieldFile, ImageFieldFile, type FileMetadata } from './models/FieldFile.ts';
export { inspectImage, DEFAULT_IMAGE_FORMATS, type ImageInfo, type InspectOptions } from './files/imageInspection.ts';
export { sniffContentType } from './files/contentType.ts';
