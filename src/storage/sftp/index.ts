/**
 * SFTPStorage: files on a server reached over SSH (django-storages' SFTPStorage).
 *
 * A save streams the content into a new temporary file beside the target (created exclusively, readable by
 * its owner only), sets its mode, then renames it to the final name. An SFTP rename fails when the target
 * exists, so two writers never replace each other's file: the later one takes another name. A file is
 * therefore never visible under its final name before all its bytes are there, and a failing source leaves
 * nothing (the temporary file is removed).
 *
 * ssh2-sftp-client is loaded on first use only (see connection.ts); url() needs no connection.
 */
import { posix } from 'node:path';
import { settings } from '../../conf/settings.ts';
import { SuspiciousOperation } from '../../errors.ts';
import { File } from '../../files/File.ts';
import { StorageOperationError } from '../operationError.ts';
import { Storage } from '../Storage.ts';
import { isTemporaryName, temporaryName } from '../temporaryFiles.ts';
import { mediaUrl } from '../urls.ts';
import { SftpConnection, type SftpClient } from './connection.ts';
import { sftpOperationError } from './errors.ts';
import { resolveSFTPOptions, type ResolvedSFTPOptions, type SFTPStorageOptions } from './options.ts';
import { remotePathOf } from './paths.ts';
import { pieceSizeFor, readStream, writeNewFile } from './transfer.ts';

export type { SFTPStorageOptions } from './options.ts';
export { StorageOperationError } from '../operationError.ts';

/** Mode of the temporary file while it is written: nobody else reads a partial upload. */
const TEMPORARY_MODE = 0o600;

/** The chunks as they are, noting in `source.failed` whether reading them failed (the content's own error). */
async function* observeFailure(chunks: AsyncIterable<Uint8Array>, source: { failed: boolean }): AsyncGenerator<Uint8Array, void, undefined> {
  try {
    yield* chunks;
  } catch (error) {
    source.failed = true;
    throw error;
  }
}

export class SFTPStorage extends Storage {
  readonly options: ResolvedSFTPOptions;
  private readonly connection: SftpConnection;

  constructor(options: SFTPStorageOptions = {}) {
    super();
    this.options = resolveSFTPOptions(options);
    this.connection = new SftpConnection(this.options);
  }

  /** Closes the SSH connection; the next operation opens a new one. */
  close(): Promise<void> {
    return this.connection.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private failure(operation: string, name: string | null, cause: unknown): StorageOperationError {
    if (cause instanceof StorageOperationError) return cause.during(operation);
    const { host, port } = this.options;
    return sftpOperationError({ alias: this.alias, host, port }, operation, name, cause);
  }

  private remotePath(name: string): string {
    return remotePathOf(this.options.root, name);
  }

  /** Runs a read-only (repeatable) request, reconnecting once if the connection had dropped. */
  private async request<T>(operation: string, name: string | null, work: (client: SftpClient) => Promise<T>): Promise<T> {
    try {
      return await this.connection.run(work, { retry: true });
    } catch (error) {
      throw this.failure(operation, name, error);
    }
  }

  get baseUrl(): string | null {
    return this.options.baseUrl ?? settings.MEDIA_URL;
  }

  private get fileMode(): number {
    return this.options.fileMode ?? settings.FILE_UPLOAD_PERMISSIONS ?? 0o644;
  }

  protected override get replacesExistingFiles(): boolean {
    return this.options.overwriteFiles;
  }


  protected async _save(name: string, content: File): Promise<string> {
    let lease;
    try {
      lease = await this.connection.lease();
    } catch (error) {
      throw this.failure('save', name, error);
    }
    const { client, sftp } = lease;
    const folder = posix.dirname(this.remotePath(name));
    const temporary = `${folder}/${temporaryName()}`;
    let temporaryExists = false;
    let currentName = name;
    const source = { failed: false };
    try {
      await this.makeFolders(client, folder);
      temporaryExists = true; // from the moment the upload starts creating it
      const chunks = content.chunks(pieceSizeFor(sftp, 'write'));
      await writeNewFile(sftp, temporary, TEMPORARY_MODE, observeFailure(chunks, source));
      await client.chmod(temporary, this.fileMode);
      for (;;) {
        const target = this.remotePath(currentName);
        try {
          if (this.options.overwriteFiles) await client.posixRename(temporary, target);
          else await client.rename(temporary, target);
          temporaryExists = false;
          return currentName;
        } catch (error) {
          // SFTP reports an existing target as a plain failure: look, rather than guess from the message.
          if (this.options.overwriteFiles || !(await client.exists(target))) throw error;
          // Someone took the name since getAvailableName() looked: take another (without maxLength, as Django).
          currentName = await this.getAvailableName(currentName);
        }
      }
    } catch (error) {
      // The content's own failure (FileTooLarge, a read error…) and a refused name come through as they are.
      if (source.failed || error instanceof SuspiciousOperation) throw error;
      throw this.failure('save', currentName, error);
    } finally {
      if (temporaryExists) await client.delete(temporary, true).catch(() => undefined);
      lease.release();
    }
  }

  /** Creates the folder and its missing parents, each with dirMode when set; tolerates concurrent creation. */
  private async makeFolders(client: SftpClient, folder: string): Promise<void> {
    if (folder === '.' || folder === '/' || folder === '') return;
    const kind = await client.exists(folder);
    if (kind === 'd') return;
    if (kind) throw Object.assign(new Error(`${folder} exists and is not a directory.`), { code: 'EEXIST' });
    await this.makeFolders(client, posix.dirname(folder));
    try {
      await client.mkdir(folder, false);
    } catch (error) {
      if ((await client.exists(folder)) === 'd') return; // made by a concurrent save
      throw error;
    }
    if (this.options.dirMode !== null) await client.chmod(folder, this.options.dirMode);
  }

  protected async _open(name: string): Promise<File> {
    const path = this.remotePath(name);
    let lease;
    try {
      lease = await this.connection.lease();
    } catch (error) {
      throw this.failure('open', name, error);
    }
    try {
      const stats = await lease.client.stat(path);
      if (stats.isDirectory) throw Object.assign(new Error(`${name} is a directory.`), { code: 'EISDIR' });
      // The connection stays in use (and the process alive) until the file is read to its end or closed.
      const stream = readStream(lease.sftp, path, stats.size, lease.release);
      const file = new File(stream, name);
      file.size = stats.size;
      return file;
    } catch (error) {
      lease.release();
      throw this.failure('open', name, error);
    }
  }

  override async delete(name: string): Promise<void> {
    if (!name) throw new Error('The name must be given to delete().');
    const path = this.remotePath(name);
    await this.request('delete', name, async (client) => {
      const kind = await client.exists(path);
      if (kind === 'd') await client.rmdir(path, false);
      else if (kind) await client.delete(path, true);
    });
  }

  override async exists(name: string): Promise<boolean> {
    const path = this.remotePath(name);
    return this.request('exists', name, async (client) => (await client.exists(path)) !== false);
  }

  override async listdir(path: string): Promise<[string[], string[]]> {
    const folder = this.remotePath(path);
    return this.request('listdir', path, async (client) => {
      const directories: string[] = [];
      const files: string[] = [];
      for (const entry of await client.list(folder)) {
        if (isTemporaryName(entry.name)) continue;
        const isFolder = entry.type === 'd' || (entry.type === 'l' && (await client.exists(`${folder}/${entry.name}`)) === 'd');
        (isFolder ? directories : files).push(entry.name);
      }
      return [directories, files];
    });
  }

  private stat(operation: string, name: string) {
    const path = this.remotePath(name);
    return this.request(operation, name, (client) => client.stat(path));
  }

  override async size(name: string): Promise<number> {
    return (await this.stat('size', name)).size;
  }

  override async getAccessedTime(name: string): Promise<Date> {
    return new Date((await this.stat('getAccessedTime', name)).accessTime);
  }

  /** SFTP (version 3) has no creation time: the modification time stands for it, as for a file written once. */
  override async getCreatedTime(name: string): Promise<Date> {
    return new Date((await this.stat('getCreatedTime', name)).modifyTime);
  }

  override async getModifiedTime(name: string): Promise<Date> {
    return new Date((await this.stat('getModifiedTime', name)).modifyTime);
  }

  /** The file's URL under baseUrl (MEDIA_URL by default), where a web server serves the same folder. */
  override url(name: string | null): string {
    return mediaUrl(this.baseUrl, name);
  }

  override describe(): string {
    const { host, port, username, root, overwriteFiles } = this.options;
    return `${username}@${host}:${port} root=${root || '.'}${overwriteFiles ? ' overwriteFiles' : ''}`;
  }
}
