/**
 * FileSystemStorage: files under a folder on the local disk (MEDIA_ROOT), served under MEDIA_URL.
 *
 * Every save is written to a temporary file in the target folder and published under its final name
 * only when complete, by link() (which fails if the name exists, so two writers never overwrite each
 * other) or, with allowOverwrite, by rename() (an atomic replacement). A crash or a failing source leaves
 * no partial file under a final name.
 */
import { constants, existsSync, realpathSync } from 'node:fs';
import {
  chmod, lchown, link, lstat, mkdir, open, readdir, readlink, rename, rmdir, stat, unlink, type FileHandle,
} from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { OutOfSpaceError, SuspiciousFileOperation, errorCode, isOutOfSpace } from '../errors.ts';
import { File } from '../files/File.ts';
import { MediaRootStorage, type MediaRootStorageOptions } from './MediaRootStorage.ts';
import { isAbandoned, isTemporaryName, temporaryName } from './temporaryFiles.ts';

export interface FileSystemStorageOptions extends MediaRootStorageOptions {
  /** Replace an existing file of the same name (atomically) instead of choosing another name. */
  allowOverwrite?: boolean;
}

/** Large pieces keep the number of system calls low; memory stays at one piece whatever the file's size. */
const WRITE_CHUNK_SIZE = 1024 * 1024;

/**
 * What open(…, 0o666) would give: the mode of a new file when FILE_UPLOAD_PERMISSIONS is null. Read at
 * each save, as the kernel would apply the umask in force then (not the one at import time).
 */
function defaultFileMode(): number {
  return 0o666 & ~process.umask();
}

function isInside(root: string, target: string): boolean {
  return target === root || target.startsWith(root === sep ? root : root + sep);
}

/** Opens a folder (following a symlink at its end), for reaching its entries through the descriptor. */
const FOLDER_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY;

let descriptorPaths: boolean | undefined;

/**
 * Whether an open folder's entries can be reached through its descriptor (Linux: /proc/self/fd/N/<entry>).
 * Such a path stays on that very folder whatever happens to the folder's own path meanwhile, so a folder
 * swapped for a symlink after the checks cannot redirect a write, a rename or a removal out of the location.
 */
function canReachThroughDescriptors(): boolean {
  descriptorPaths ??= existsSync('/proc/self/fd');
  return descriptorPaths;
}

/** A folder of the location, open: its entries are reached through its descriptor where the OS allows it. */
class Folder {
  constructor(readonly path: string, private readonly handle: FileHandle | null) {}

  /** A path to `name` inside this folder. */
  entry(name: string): string {
    return this.handle === null ? join(this.path, name) : `/proc/self/fd/${this.handle.fd}/${name}`;
  }

  async close(): Promise<void> {
    await this.handle?.close();
  }
}

function notADirectory(directory: string): Error {
  return Object.assign(new Error(`${directory} exists and is not a directory.`), { code: 'EEXIST', path: directory });
}

export class FileSystemStorage extends MediaRootStorage {
  private readonly allowOverwrite: boolean;

  constructor(options: FileSystemStorageOptions = {}) {
    const { allowOverwrite = false, ...rest } = options;
    super(rest);
    this.allowOverwrite = allowOverwrite;
  }

  /**
   * The absolute path of a name. Refuses names outside the location, lexically (Django's safe_join) and
   * through symlinks: the deepest existing part of the path must resolve inside the location.
   */
  override path(name: string): string {
    const fullPath = super.path(name);
    this.assertNoSymlinkEscape(fullPath);
    return fullPath;
  }

  private assertNoSymlinkEscape(fullPath: string): void {
    let root: string;
    try {
      root = realpathSync.native(this.location);
    } catch {
      return; // no location yet, so nothing inside it can be a link
    }
    for (let probe = fullPath; ; probe = dirname(probe)) {
      let real: string;
      try {
        real = realpathSync.native(probe);
      } catch (error) {
        const code = errorCode(error);
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
        // A missing or dangling part: its parent decides. Reaching the location means it is inside.
        if (probe === this.location || probe === dirname(probe)) return;
        continue;
      }
      if (!isInside(root, real)) throw this.symlinkEscape(fullPath);
      return;
    }
  }

  private symlinkEscape(fullPath: string): SuspiciousFileOperation {
    return new SuspiciousFileOperation(
      `The path (${fullPath}) leads outside of the storage location (${this.location}) through a symbolic link`,
    );
  }

  /**
   * Checks where an open descriptor really is (its path may have changed since path() looked: a folder on
   * it swapped for a symlink), and closes it and throws if that is outside the location. Resolves to false
   * where the OS cannot tell (no /proc): the checks by path are then all there is.
   */
  private async checkOpened(handle: FileHandle, fullPath: string): Promise<boolean> {
    if (!canReachThroughDescriptors()) return false;
    let real: string;
    try {
      real = (await readlink(`/proc/self/fd/${handle.fd}`)).replace(/ \(deleted\)$/, '');
    } catch {
      return false;
    }
    let root: string;
    try {
      root = realpathSync.native(this.location);
    } catch {
      root = this.location;
    }
    if (!isInside(root, real)) {
      await handle.close();
      throw this.symlinkEscape(fullPath);
    }
    return true;
  }

  /**
   * The folder `directory` (of the name whose path is `fullPath`), open and checked to lie inside the
   * location; made first (with its missing parents) when `create` is set and it is missing.
   */
  private async openFolder(directory: string, fullPath: string, create: boolean): Promise<Folder> {
    let handle: FileHandle;
    try {
      handle = await open(directory, FOLDER_FLAGS);
    } catch (error) {
      const code = errorCode(error);
      if (!create || (code !== 'ENOENT' && code !== 'ENOTDIR')) throw error;
      // The folder is missing (the usual case needs no mkdir call): make it.
      handle = await this.makeDirectories(directory, fullPath);
    }
    return new Folder(directory, (await this.checkOpened(handle, fullPath)) ? handle : (await handle.close(), null));
  }

  protected override get replacesExistingFiles(): boolean {
    return this.allowOverwrite;
  }


  protected async _open(name: string): Promise<File> {
    const fullPath = this.path(name);
    const handle = await open(fullPath, 'r');
    await this.checkOpened(handle, fullPath);
    return new File(handle, fullPath);
  }

  protected async _save(name: string, content: File): Promise<string> {
    const fullPath = this.path(name);
    try {
      return await this.saveUnder(name, fullPath, content);
    } catch (error) {
      // Node's ENOSPC names neither the file nor the cause in words; the upload page answers 507 with this.
      throw isOutOfSpace(error) ? new OutOfSpaceError(fullPath, error) : error;
    }
  }

  private async saveUnder(name: string, requestedPath: string, content: File): Promise<string> {
    let currentName = name;
    let fullPath = requestedPath;
    // Everything below happens in open folders, reached through their descriptors: a folder swapped for a
    // symlink after the checks cannot send the bytes (or the final name) outside the location.
    const folder = await this.openFolder(dirname(fullPath), fullPath, true);
    let target = folder;
    try {
      const temporary = await this.writeTemporary(folder, content);
      try {
        for (;;) {
          try {
            if (this.allowOverwrite) await rename(temporary, target.entry(basename(fullPath)));
            else await link(temporary, target.entry(basename(fullPath)));
            break;
          } catch (error) {
            if (this.allowOverwrite || errorCode(error) !== 'EEXIST') throw error;
            // Someone took the name since getAvailableName() looked: take another (without maxLength, as Django).
            currentName = await this.getAvailableName(currentName);
            fullPath = this.path(currentName);
            await this.publishingUnder(content, currentName);
            if (dirname(fullPath) !== target.path) {
              if (target !== folder) await target.close();
              target = await this.openFolder(dirname(fullPath), fullPath, true);
            }
          }
        }
      } finally {
        await unlink(temporary).catch(() => undefined);
      }
      await this.matchLocationGroup(target.entry(basename(fullPath)));
    } finally {
      if (target !== folder) await target.close();
      await folder.close();
    }
    return relative(this.location, fullPath).split(sep).join('/');
  }

  /** Writes all of the content to a new temporary file in the target's folder; removes it on any failure. */
  private async writeTemporary(folder: Folder, content: File): Promise<string> {
    const temporary = folder.entry(temporaryName());
    try {
      // Always read through the File, never by the kernel's copyFile(): that copies the size stat() gave at
      // the start, and loops for ever on a source that shrinks meanwhile (or, like /sys files, is smaller
      // than it says), and copies nothing of a /proc file (whose size is 0).
      const handle = await open(temporary, 'wx', 0o600);
      try {
        await writeOverlapped(handle, content.chunks(WRITE_CHUNK_SIZE));
        await handle.chmod(this.filePermissionsMode ?? defaultFileMode());
      } finally {
        await handle.close();
      }
      return temporary;
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Creates the folder and its missing parents, and returns it open. With a directory mode, each folder
   * created gets exactly that mode (chmod after mkdir, so the umask cannot narrow it), as Django's
   * safe_makedirs. Each level is made and opened through the descriptor of its parent, and each one found
   * (not made) is checked to lie inside the location, so no folder is made, or chmod-ed, outside it.
   */
  private async makeDirectories(directory: string, fullPath: string): Promise<FileHandle> {
    const parts = relative(this.location, directory).split(sep).filter(Boolean);
    if (!canReachThroughDescriptors() || !(await isDirectory(this.location)) || parts[0] === '..') {
      // No descriptor paths, or no location yet (so nothing in it can be a link): by path.
      await this.makeDirectoriesByPath(directory);
      return open(directory, FOLDER_FLAGS);
    }
    const mode = this.directoryPermissionsMode;
    let current = await open(this.location, FOLDER_FLAGS);
    try {
      for (const part of parts) {
        const entry = `/proc/self/fd/${current.fd}/${part}`;
        let created = false;
        try {
          await mkdir(entry, mode ?? 0o777);
          created = true;
        } catch (error) {
          if (errorCode(error) !== 'EEXIST') throw error; // a folder already there (or made by a concurrent save)
        }
        // A folder made just now is opened without following a link put in its place.
        const next = await open(entry, FOLDER_FLAGS | (created ? constants.O_NOFOLLOW : 0));
        await current.close();
        current = next;
        if (created && mode !== null) await current.chmod(mode);
        else if (!created) await this.checkOpened(current, fullPath);
      }
      return current;
    } catch (error) {
      await current.close().catch(() => undefined);
      const code = errorCode(error);
      if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'ELOOP') throw notADirectory(directory);
      throw error;
    }
  }

  /** makeDirectories() by path: where descriptors cannot be used, and for the location itself. */
  private async makeDirectoriesByPath(directory: string): Promise<void> {
    const mode = this.directoryPermissionsMode;
    try {
      if (mode === null) {
        await mkdir(directory, { recursive: true });
        return;
      }
      const missing: string[] = [];
      for (let current = directory; !(await isDirectory(current)); current = dirname(current)) {
        missing.unshift(current);
        if (current === dirname(current)) break;
      }
      for (const folder of missing) {
        try {
          await mkdir(folder, mode);
        } catch (error) {
          if (errorCode(error) === 'EEXIST' && (await isDirectory(folder))) continue; // made by a concurrent save
          throw error;
        }
        await chmod(folder, mode);
      }
    } catch (error) {
      const code = errorCode(error);
      if (code === 'EEXIST' || code === 'ENOTDIR') throw notADirectory(directory);
      throw error;
    }
  }

  /** Files take the location's group, as Django does (for shared media folders with the setgid habit). */
  private async matchLocationGroup(fullPath: string): Promise<void> {
    try {
      // lstat/lchown: a link put in the file's place is never followed.
      const [file, location] = await Promise.all([lstat(fullPath), stat(this.location)]);
      if (file.gid !== location.gid) await lchown(fullPath, -1, location.gid);
    } catch {
      // Not permitted: the file keeps the process's group.
    }
  }

  override async delete(name: string): Promise<void> {
    if (!name) throw new Error('The name must be given to delete().');
    const fullPath = this.path(name);
    let folder: Folder | null = null;
    try {
      // Removed through the open folder, so a folder swapped for a symlink cannot turn this into a removal outside.
      folder = fullPath === this.location ? new Folder(fullPath, null) : await this.openFolder(dirname(fullPath), fullPath, false);
      const entry = fullPath === this.location ? fullPath : folder.entry(basename(fullPath));
      if ((await lstat(entry)).isDirectory()) await rmdir(entry);
      else await unlink(entry);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
    } finally {
      await folder?.close();
    }
  }

  override async exists(name: string): Promise<boolean> {
    try {
      await lstat(this.path(name)); // a dangling link still takes the name
      return true;
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') return false;
      throw error;
    }
  }

  override async listdir(path: string): Promise<[string[], string[]]> {
    const directories: string[] = [];
    const files: string[] = [];
    const folder = this.path(path);
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      if (isTemporaryName(entry.name)) continue;
      const isFolder = entry.isDirectory()
        || (entry.isSymbolicLink() && (await isDirectory(`${folder}${sep}${entry.name}`)));
      (isFolder ? directories : files).push(entry.name);
    }
    return [directories, files];
  }

  /**
   * Removes the temporary files that killed saves left anywhere under the location (a save still under
   * way, in a live process, is left alone) and returns their names. `filefield check` runs it.
   */
  async removeAbandonedTemporaryFiles(): Promise<string[]> {
    const removed: string[] = [];
    const visit = async (folder: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(folder, { withFileTypes: true });
      } catch (error) {
        if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return;
        throw error;
      }
      for (const entry of entries) {
        const entryPath = join(folder, entry.name);
        if (entry.isDirectory()) {
          await visit(entryPath); // a symlinked folder is not a Dirent directory: links are never followed
        } else if (entry.isFile() && isTemporaryName(entry.name)) {
          const stats = await lstat(entryPath).catch(() => null);
          if (stats && isAbandoned(entry.name, stats.mtime)) {
            await unlink(entryPath).catch(() => undefined);
            removed.push(relative(this.location, entryPath).split(sep).join('/'));
          }
        }
      }
    };
    await visit(this.location);
    return removed;
  }

  override async size(name: string): Promise<number> {
    return (await stat(this.path(name))).size;
  }

  override async getAccessedTime(name: string): Promise<Date> {
    return (await stat(this.path(name))).atime;
  }

  /** The birth time where the filesystem records one, else (as Django on Unix) the change time. */
  override async getCreatedTime(name: string): Promise<Date> {
    const stats = await stat(this.path(name));
    return stats.birthtimeMs > 0 ? stats.birthtime : stats.ctime;
  }

  override async getModifiedTime(name: string): Promise<Date> {
    return (await stat(this.path(name))).mtime;
  }

  override describe(): string {
    return super.describe() + (this.allowOverwrite ? ' allowOverwrite' : '');
  }
}

/** Writes every piece, reading the next one while the current one is written (two in memory at most). */
async function writeOverlapped(handle: FileHandle, pieces: AsyncIterator<Uint8Array>): Promise<void> {
  // A read that fails while a write is under way must not count as an unhandled rejection (which ends the
  // process under Node's default): mark each read as handled at once; awaiting it later still throws.
  const read = () => {
    const promise = pieces.next();
    promise.catch(() => undefined);
    return promise;
  };
  let next = read();
  try {
    for (let current = await next; !current.done; current = await next) {
      next = read();
      const chunk = current.value;
      let written = 0;
      while (written < chunk.byteLength) {
        written += (await handle.write(chunk, written, chunk.byteLength - written)).bytesWritten;
      }
    }
  } catch (error) {
    await pieces.return?.(undefined);
    throw error;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
