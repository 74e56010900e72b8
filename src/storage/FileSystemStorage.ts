/**
 * FileSystemStorage: files under a folder on the local disk (MEDIA_ROOT), served under MEDIA_URL.
 * The I/O is FileSystemDriver's; names, the retry when a name is taken and every other policy are the
 * Storage base's.
 */
import { FileSystemDriver } from './FileSystemDriver.ts';
import { MediaRoot, MediaRootStorage, type MediaRootStorageOptions } from './MediaRootStorage.ts';

export interface FileSystemStorageOptions extends MediaRootStorageOptions {
  /** Replace an existing file of the same name (atomically) instead of choosing another name. */
  allowOverwrite?: boolean;
}

export class FileSystemStorage extends MediaRootStorage {
  private readonly allowOverwrite: boolean;
  declare protected readonly driver: FileSystemDriver;

  constructor(options: FileSystemStorageOptions = {}) {
    const { allowOverwrite = false, ...rest } = options;
    const root = new MediaRoot(rest);
    super(root, new FileSystemDriver(root));
    this.allowOverwrite = allowOverwrite;
  }

  protected override get replacesExistingFiles(): boolean {
    return this.allowOverwrite;
  }

  /**
   * Removes the temporary files that killed saves left anywhere under the location (a save still under
   * way, in a live process, is left alone) and returns their names. `filefield check` runs it.
   */
  override removeAbandonedTemporaryFiles(): Promise<string[]> {
    return this.driver.removeAbandonedTemporaryFiles();
  }

  override describe(): string {
    return super.describe() + (this.allowOverwrite ? ' allowOverwrite' : '');
  }
}
