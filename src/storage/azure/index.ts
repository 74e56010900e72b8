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
  // Private, not the base's protected `driver`: the declarations of this class then need no SDK types.
  private readonly azure: AzureDriver;

  constructor(options: AzureStorageOptions = {}) {
    const driver = new AzureDriver(resolveAzureOptions(options));
    super(driver);
    this.azure = driver;
  }

  get options(): ResolvedAzureOptions {
    return this.azure.options;
  }
}
