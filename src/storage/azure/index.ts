/**
 * AzureStorage: files as block blobs in an Azure Storage container (django-storages' AzureStorage). The
 * I/O is AzureDriver's.
 */
import { Storage } from '../Storage.ts';
import { AzureDriver } from './driver.ts';
import { resolveAzureOptions, type AzureStorageOptions, type ResolvedAzureOptions } from './options.ts';

export type { AzureStorageOptions } from './options.ts';
export { StorageOperationError } from '../operationError.ts';

export class AzureStorage extends Storage {
  declare protected readonly driver: AzureDriver;

  constructor(options: AzureStorageOptions = {}) {
    super(new AzureDriver(resolveAzureOptions(options)));
  }

  get options(): ResolvedAzureOptions {
    return this.driver.options;
  }
}
