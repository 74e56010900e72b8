/**
 * SFTPStorage: files on a server reached over SSH (django-storages' SFTPStorage). The I/O is SftpDriver's.
 */
import { Storage } from '../Storage.ts';
import { SftpDriver } from './driver.ts';
import { resolveSFTPOptions, type ResolvedSFTPOptions, type SFTPStorageOptions } from './options.ts';

export type { SFTPStorageOptions } from './options.ts';
export { StorageOperationError } from '../operationError.ts';

export class SFTPStorage extends Storage {
  // Private, not the base's protected `driver`: the declarations of this class then need no SDK types.
  private readonly sftp: SftpDriver;

  constructor(options: SFTPStorageOptions = {}) {
    const driver = new SftpDriver(resolveSFTPOptions(options));
    super(driver);
    this.sftp = driver;
  }

  get options(): ResolvedSFTPOptions {
    return this.sftp.options;
  }

  get baseUrl(): string | null {
    return this.sftp.baseUrl;
  }

  /** Closes the SSH connection; the next operation opens a new one. */
  close(): Promise<void> {
    return this.sftp.connection.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
