/**
 * The SFTP driver: files on a server reached over SSH, I/O only (the Storage base decides names).
 *
 * A write streams the content into a new temporary file beside the target (created exclusively, readable
 * by its owner only), sets its mode, then renames it to the final name. An SFTP rename fails when the
 * target exists, so two writers never replace each other's file: the later one moves to another name
 * through its claim. A file is therefore never visible under its final name before all its bytes are
 * there, and a failing source leaves nothing (the temporary file is removed).
 *
 * ssh2-sftp-client is loaded on first use only (see connection.ts); url() needs no connection.
 */
import { posix } from 'node:path';
import { settings } from '../../conf/settings.ts';
import { File } from '../../files/File.ts';
import type {
  DriverCapabilities, ListPage, ListRequest, ObjectHeaders, ObjectStat, StorageDriver, WriteRequest,
} from '../driver.ts';
import { temporaryName } from '../temporaryFiles.ts';
import { mediaUrl } from '../urls.ts';
import { SftpConnection, type SftpClient } from './connection.ts';
import { sftpOperationError } from './errors.ts';
import type { ResolvedSFTPOptions } from './options.ts';
import { remotePathOf } from './paths.ts';
import { pieceSizeFor, readStream, writeNewFile } from './transfer.ts';

/** Mode of the temporary file while it is written: nobody else reads a partial upload. */
const TEMPORARY_MODE = 0o600;

export class SftpDriver implements StorageDriver {
  readonly capabilities: DriverCapabilities = Object.freeze({
    localPath: false, urlSigning: false, uploadSigning: false, serverSideCopy: false, contentTypes: false, flatListing: false,
  });
  readonly connection: SftpConnection;

  get replacesExisting(): boolean {
    return this.options.overwriteFiles;
  }

  constructor(readonly options: ResolvedSFTPOptions) {
    this.connection = new SftpConnection(options);
  }

  keyOf(name: string): string {
    return remotePathOf(this.options.root, name);
  }

  get baseUrl(): string | null {
    return this.options.baseUrl ?? settings.MEDIA_URL;
  }

  private get fileMode(): number {
    return this.options.fileMode ?? settings.FILE_UPLOAD_PERMISSIONS ?? 0o644;
  }

  /** Runs a request that is safe to repeat, once more on a new connection if the connection had dropped. */
  private request<T>(work: (client: SftpClient) => Promise<T>): Promise<T> {
    return this.connection.run(work, { retry: true });
  }

  async write({ content, headers, replace, claim }: WriteRequest): Promise<string> {
    if (Object.keys(headers).length > 0) {
      throw new RangeError(`SFTPStorage keeps no object headers (${Object.keys(headers).join(', ')}): a web server in front of the folder decides them.`);
    }
    const lease = await this.connection.lease();
    const { client, sftp } = lease;
    const folder = posix.dirname(claim.key);
    const temporary = `${folder}/${temporaryName()}`;
    let temporaryExists = false;
    try {
      await this.makeFolders(client, folder);
      temporaryExists = true; // from the moment the upload starts creating it
      await writeNewFile(sftp, temporary, TEMPORARY_MODE, content.chunks(pieceSizeFor(sftp, 'write')));
      await client.chmod(temporary, this.fileMode);
      for (;;) {
        const target = claim.key;
        try {
          if (replace) await client.posixRename(temporary, target);
          else await client.rename(temporary, target);
          temporaryExists = false;
          return claim.name;
        } catch (error) {
          // SFTP reports an existing target as a plain failure: look, rather than guess from the message.
          if (replace || !(await client.exists(target))) throw error;
          await claim.taken(error);
        }
      }
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

  /** Opening is safe to repeat: it retries once on a new connection if the connection had dropped. */
  async read(path: string, name: string): Promise<File> {
    return this.connection.withLease(async (lease) => {
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
        throw error;
      }
    }, { retry: true });
  }

  async remove(path: string): Promise<void> {
    await this.request(async (client) => {
      const kind = await client.exists(path);
      if (kind === 'd') await client.rmdir(path, false);
      else if (kind) await client.delete(path, true);
    });
  }

  async exists(path: string): Promise<boolean> {
    return this.request(async (client) => (await client.exists(path)) !== false);
  }

  async list(folder: string, _request: ListRequest): Promise<ListPage> {
    return this.request(async (client) => {
      const page: ListPage = { folders: [], files: [], cursor: null };
      for (const entry of await client.list(folder)) {
        const isFolder = entry.type === 'd' || (entry.type === 'l' && (await client.exists(`${folder}/${entry.name}`)) === 'd');
        if (isFolder) page.folders.push(entry.name);
        else page.files.push({ name: entry.name, size: entry.size, modifiedTime: new Date(entry.modifyTime) });
      }
      return page;
    });
  }

  /** SFTP (version 3) has no creation time: the modification time stands for it, as for a file written once. */
  async stat(path: string): Promise<ObjectStat> {
    const stats = await this.request((client) => client.stat(path));
    const modified = new Date(stats.modifyTime);
    return { isFolder: stats.isDirectory, size: stats.size, modified, created: modified, accessed: new Date(stats.accessTime) };
  }

  async headers(_path: string): Promise<ObjectHeaders> {
    return {};
  }

  /** The file's URL under baseUrl (MEDIA_URL by default), where a web server serves the same folder. */
  url(name: string | null): string {
    return mediaUrl(this.baseUrl, name);
  }

  failure(operation: string, name: string | null, error: unknown, alias: string | null): Error {
    const { host, port } = this.options;
    return sftpOperationError({ alias, host, port }, operation, name, error);
  }

  describe(): string {
    const { host, port, username, root, overwriteFiles } = this.options;
    return `${username}@${host}:${port} root=${root || '.'}${overwriteFiles ? ' overwriteFiles' : ''}`;
  }
}
