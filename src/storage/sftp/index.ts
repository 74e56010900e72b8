/**
 * SFTPStorage: files on a server reached over SSH (django-storages' SFTPStorage). The I/O is SftpDriver's.
 */
import { Storage } from '../Storage.ts';
import { SftpDriver } from './driver.ts';
import { resolveSFTPOptions, type ResolvedSFTPOptions, type SFTPStorageOptions } from './options.ts';

export type { SFTPStorageOptions } from './options.ts';
export { StorageOperationError } from '../operationError.ts';

export class SFTPStorage extends Storage {
  declare protected readonly driver: SftpDriver;

  constructor(options: SFTPStorageOptions = {}) {
    super(new SftpDriver(resolveSFTPOptions(options)));
  }

  get options(): ResolvedSFTPOptions {
    return this.driver.options;
  }

  get baseUrl(): string | null {
    return this.driver.baseUrl;
  }

  /** Closes the SSH connection; the next operation opens a new one. */
  close(): Promise<void> {
    return this.driver.connection.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
