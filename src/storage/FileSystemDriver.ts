/**
 * The local disk's driver: files under a folder (MEDIA_ROOT), I/O only (the Storage base decides names).
 *
 * Every write goes to a temporary file in the target folder and is published under its final name only
 * when complete, by link() (which fails if the name exists, so two writers never overwrite each other) or,
 * when files are replaced, by rename() (an atomic replacement). A crash or a failing source leaves no
 * partial file under a final name.
 *
 * Calls on names and folders (open, link, rename, stat, chmod…) are made at once, not through libuv's
 * thread pool: on a local disk each takes microseconds, where a round trip through the pool costs some
 * fifty, and a save makes a dozen of them. Bytes are written at once in pieces of up to 64 KiB, through the
 * pool above that, so a large file never holds up the event loop.
 */
import {
  closeSync, constants, existsSync, fchmodSync, fchownSync, fstatSync, linkSync, lstatSync, mkdirSync, openSync,
  readFileSync, readlinkSync, realpathSync, renameSync, rmdirSync, statSync, unlinkSync, write as writeCallback, writeSync,
} from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, stat, unlink, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { basename, dirname, join, relative, sep } from 'node:path';
import { OutOfSpaceError, SuspiciousFileOperation, errorCode, isOutOfSpace } from '../errors.ts';
import { File, openRegularFile } from '../files/File.ts';
import type {
  ByteRange, DriverCapabilities, ListPage, ListRequest, ObjectHeaders, ObjectStat, StorageDriver, WriteRequest,
} from './driver.ts';
import { MediaRootDriver, isInsideFolder } from './MediaRootStorage.ts';
import { keepHeaders } from './keptHeaders.ts';
import { headersFileName, isReservedName } from './reservedNames.ts';
import { isAbandoned, isTemporaryName, temporaryName } from './temporaryFiles.ts';

/** Large pieces keep the number of system calls low; memory stays at one piece whatever the file's size. */
const WRITE_CHUNK_SIZE = 1024 * 1024;
/** Pieces up to this size are written at once; larger ones through the thread pool. */
const IMMEDIATE_WRITE_LIMIT = 64 * 1024;

const writeFd = promisify(writeCallback);

/**
 * What open(…, 0o666) would give: the mode of a new file when FILE_UPLOAD_PERMISSIONS is null. Read at
 * each save, as the kernel would apply the umask in force then (not the one at import time).
 */
function defaultFileMode(): number {
  return 0o666 & ~process.umask();
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
  constructor(readonly path: string, private fd: number | null) {}

  /** A path to `name` inside this folder. */
  entry(name: string): string {
    return this.fd === null ? join(this.path, name) : `/proc/self/fd/${this.fd}/${name}`;
  }

  /** Closes it once: a second close could shut a descriptor that took the number since. */
  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    closeSync(fd);
  }
}

function notADirectory(directory: string): Error {
  return Object.assign(new Error(`${directory} exists and is not a directory.`), { code: 'EEXIST', path: directory });
}

export class FileSystemDriver extends MediaRootDriver implements StorageDriver {
  readonly capabilities: DriverCapabilities = Object.freeze({
    localPath: true, urlSigning: false, uploadSigning: true, serverSideCopy: false, contentTypes: false, flatListing: false,
  });

  /**
   * The absolute path of a name. Refuses names outside the location, lexically (Django's safe_join) and
   * through symlinks: the deepest existing part of the path must resolve inside the location.
   */
  keyOf(name: string): string {
    const fullPath = this.root.join(name);
    this.assertNoSymlinkEscape(fullPath);
    return fullPath;
  }

  path(name: string): string {
    return this.keyOf(name);
  }

  /**
   * Where the location really is, resolved once it exists and kept while the location stays the same (it
   * follows MEDIA_ROOT), since every check by path and by descriptor needs it. A path found outside the kept
   * one is judged again against the location as it is now (a folder swapped for a symlink since).
   */
  private resolvedRoot: { location: string; real: string } | undefined;

  private realRoot(fresh = false): string | undefined {
    const { location } = this.root;
    if (fresh || this.resolvedRoot?.location !== location) {
      try {
        this.resolvedRoot = { location, real: realpathSync.native(location) };
      } catch {
        this.resolvedRoot = undefined;
        return undefined;
      }
    }
    return this.resolvedRoot.real;
  }

  /** Whether `real` (a resolved path) lies inside the location. */
  private isInsideLocation(real: string): boolean {
    const kept = this.realRoot();
    if (kept !== undefined && isInsideFolder(kept, real)) return true;
    return isInsideFolder(this.realRoot(true) ?? this.root.location, real);
  }

  /**
   * Each part below the location is looked at without following it (two calls for a usual name, where
   * resolving the whole path reads every part from the root of the file system); the path is resolved
   * only when one of them is a link.
   */
  private assertNoSymlinkEscape(fullPath: string): void {
    if (this.realRoot() === undefined) return; // no location yet, so nothing inside it can be a link
    const location = this.root.location;
    let probe = location;
    for (const part of relative(location, fullPath).split(sep)) {
      if (part === '') continue;
      probe = join(probe, part);
      let stats;
      try {
        stats = lstatSync(probe, { throwIfNoEntry: false });
      } catch (error) {
        if (errorCode(error) === 'ENOTDIR') return; // a file where a folder is asked for: nothing below it
        throw error;
      }
      if (stats === undefined) return; // missing: nothing below it can be a link
      if (stats.isSymbolicLink()) return this.assertResolvesInside(fullPath);
    }
  }

  /** The path resolved through its links (or, where its end is missing, its deepest existing part) lies inside. */
  private assertResolvesInside(fullPath: string): void {
    for (let probe = fullPath; ; probe = dirname(probe)) {
      let real: string;
      try {
        real = realpathSync.native(probe);
      } catch (error) {
        const code = errorCode(error);
        if (code === 'ELOOP') throw this.symlinkLoop(fullPath);
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
        // A missing or dangling part: its parent decides. Reaching the location means it is inside.
        if (probe === this.root.location || probe === dirname(probe)) return;
        continue;
      }
      if (!this.isInsideLocation(real)) throw this.symlinkEscape(fullPath);
      return;
    }
  }

  private symlinkLoop(fullPath: string): SuspiciousFileOperation {
    return new SuspiciousFileOperation(`The path (${fullPath}) cannot be resolved: it runs into a loop of symbolic links`);
  }

  private symlinkEscape(fullPath: string): SuspiciousFileOperation {
    return new SuspiciousFileOperation(
      `The path (${fullPath}) leads outside of the storage location (${this.root.location}) through a symbolic link`,
    );
  }

  /**
   * Checks where an open descriptor really is (its path may have changed since path() looked: a folder on
   * it swapped for a symlink), and throws if that is outside the location (the caller, which opened it,
   * closes it). Resolves to false where the OS cannot tell (no /proc): the checks by path are then all there is.
   */
  private checkOpened(fd: number, fullPath: string): boolean {
    if (!canReachThroughDescriptors()) return false;
    let real: string;
    try {
      real = readlinkSync(`/proc/self/fd/${fd}`).replace(/ \(deleted\)$/, '');
    } catch {
      return false;
    }
    if (!this.isInsideLocation(real)) throw this.symlinkEscape(fullPath);
    return true;
  }

  /**
   * The folder `directory` (of the name whose path is `fullPath`), open and checked to lie inside the
   * location; made first (with its missing parents) when `create` is set and it is missing.
   */
  private async openFolder(directory: string, fullPath: string, create: boolean): Promise<Folder> {
    let fd: number;
    try {
      fd = openSync(directory, FOLDER_FLAGS);
    } catch (error) {
      const code = errorCode(error);
      if (!create || (code !== 'ENOENT' && code !== 'ENOTDIR')) throw error;
      // The folder is missing (the usual case needs no mkdir call): make it.
      fd = await this.makeDirectories(directory, fullPath);
    }
    let reachable: boolean;
    try {
      reachable = this.checkOpened(fd, fullPath);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    if (reachable) return new Folder(directory, fd);
    closeSync(fd);
    return new Folder(directory, null);
  }

  async write({ content, headers, replace, claim }: WriteRequest): Promise<string> {
    let fullPath = claim.key;
    // Everything below happens in open folders, reached through their descriptors: a folder swapped for a
    // symlink after the checks cannot send the bytes (or the final name) outside the location.
    const folder = await this.openFolder(dirname(fullPath), fullPath, true);
    let target = folder;
    try {
      const temporary = await this.writeTemporary(folder, content);
      try {
        for (;;) {
          try {
            if (replace) renameSync(temporary, target.entry(basename(fullPath)));
            else linkSync(temporary, target.entry(basename(fullPath)));
            break;
          } catch (error) {
            if (replace || errorCode(error) !== 'EEXIST') throw error;
            await claim.taken(error);
            fullPath = claim.key;
            if (dirname(fullPath) !== target.path) {
              if (target !== folder) target.close();
              target = await this.openFolder(dirname(fullPath), fullPath, true);
            }
          }
        }
      } finally {
        unlinkQuietly(temporary);
      }
      if (Object.keys(headers).length > 0) await writeFile(target.entry(headersFileName(basename(fullPath))), JSON.stringify(headers), { mode: 0o600 });
    } finally {
      if (target !== folder) target.close();
      folder.close();
    }
    return this.nameOf(fullPath);
  }

  private nameOf(fullPath: string): string {
    return relative(this.root.location, fullPath).split(sep).join('/');
  }

  /** Writes all of the content to a new temporary file in the target's folder; removes it on any failure. */
  private async writeTemporary(folder: Folder, content: File): Promise<string> {
    const temporary = folder.entry(temporaryName());
    try {
      // Always read through the File, never by the kernel's copyFile(): that copies the size stat() gave at
      // the start, and loops for ever on a source that shrinks meanwhile (or, like /sys files, is smaller
      // than it says), and copies nothing of a /proc file (whose size is 0).
      const fd = openSync(temporary, 'wx', 0o600);
      try {
        // Each piece is written before the next but one is read: buffers can be reused (memory stays flat).
        await writeOverlapped(fd, content.chunks(WRITE_CHUNK_SIZE, { reuseBuffers: true }));
        fchmodSync(fd, this.root.filePermissionsMode ?? defaultFileMode());
        this.matchLocationGroup(fd);
      } finally {
        closeSync(fd);
      }
      return temporary;
    } catch (error) {
      unlinkQuietly(temporary);
      throw error;
    }
  }

  /**
   * Creates the folder and its missing parents, and returns it open. With a directory mode, each folder
   * created gets exactly that mode (chmod after mkdir, so the umask cannot narrow it), as Django's
   * safe_makedirs. Each level is made and opened through the descriptor of its parent, and each one found
   * (not made) is checked to lie inside the location, so no folder is made, or chmod-ed, outside it.
   */
  private async makeDirectories(directory: string, fullPath: string): Promise<number> {
    const parts = relative(this.root.location, directory).split(sep).filter(Boolean);
    if (!canReachThroughDescriptors() || !(await isDirectory(this.root.location)) || parts[0] === '..') {
      // No descriptor paths, or no location yet (so nothing in it can be a link): by path.
      await this.makeDirectoriesByPath(directory);
      return openSync(directory, FOLDER_FLAGS);
    }
    const mode = this.root.directoryPermissionsMode;
    let current = openSync(this.root.location, FOLDER_FLAGS);
    try {
      for (const part of parts) {
        const entry = `/proc/self/fd/${current}/${part}`;
        let created = false;
        try {
          mkdirSync(entry, mode ?? 0o777);
          created = true;
        } catch (error) {
          if (errorCode(error) !== 'EEXIST') throw error; // a folder already there (or made by a concurrent save)
        }
        // A folder made just now is opened without following a link put in its place.
        const next = openSync(entry, FOLDER_FLAGS | (created ? constants.O_NOFOLLOW : 0));
        closeSync(current);
        current = next;
        if (created && mode !== null) fchmodSync(current, mode);
        else if (!created) this.checkOpened(current, fullPath);
      }
      return current;
    } catch (error) {
      closeSync(current);
      const code = errorCode(error);
      if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'ELOOP') throw notADirectory(directory);
      throw error;
    }
  }

  /** makeDirectories() by path: where descriptors cannot be used, and for the location itself. */
  private async makeDirectoriesByPath(directory: string): Promise<void> {
    const mode = this.root.directoryPermissionsMode;
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

  /**
   * Files take the location's group, as Django does (for shared media folders with the setgid habit):
   * set on the temporary file, so the file has it from the moment it appears under its name.
   */
  private matchLocationGroup(fd: number): void {
    try {
      const { gid } = statSync(this.root.location);
      if (fstatSync(fd).gid !== gid) fchownSync(fd, -1, gid);
    } catch {
      // Not permitted: the file keeps the process's group.
    }
  }
  async remove(fullPath: string): Promise<void> {
    let folder: Folder | null = null;
    try {
      // Removed through the open folder, so a folder swapped for a symlink cannot turn this into a removal outside.
      const location = this.root.location;
      folder = fullPath === location ? new Folder(fullPath, null) : await this.openFolder(dirname(fullPath), fullPath, false);
      const entry = fullPath === location ? fullPath : folder.entry(basename(fullPath));
      if (lstatSync(entry).isDirectory()) {
        rmdirSync(entry);
      } else {
        unlinkSync(entry);
        if (fullPath !== location) unlinkQuietly(folder.entry(headersFileName(basename(fullPath))));
      }
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
    } finally {
      folder?.close();
    }
  }

  async exists(fullPath: string): Promise<boolean> {
    try {
      lstatSync(fullPath); // a dangling link still takes the name
      return true;
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') return false;
      throw error;
    }
  }

  /** A folder's entries in one page (a folder is read whole by the system anyway). */
  async list(folder: string, request: ListRequest): Promise<ListPage> {
    const page: ListPage = { folders: [], files: [], cursor: null };
    let entries;
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (error) {
      // A location not made yet (no file saved so far) holds nothing; any other missing folder is an error.
      if (errorCode(error) === 'ENOENT' && folder === this.root.location) return page;
      throw error;
    }
    for (const entry of entries) {
      if (isTemporaryName(entry.name) || isReservedName(entry.name)) continue;
      const entryPath = `${folder}${sep}${entry.name}`;
      const isFolder = entry.isDirectory() || (entry.isSymbolicLink() && (await isDirectory(entryPath)));
      if (isFolder) {
        page.folders.push(entry.name);
      } else if (request.withDetails) {
        const stats = await stat(entryPath).catch(() => null);
        page.files.push({ name: entry.name, size: stats?.size ?? 0, modifiedTime: stats?.mtime ?? new Date(0) });
      } else {
        page.files.push({ name: entry.name, size: 0, modifiedTime: new Date(0) });
      }
    }
    return page;
  }

  async read(fullPath: string, _name: string, range?: ByteRange): Promise<File> {
    if (range === undefined) {
      // A regular file, opened and closed at once (a media GET makes both); anything else as below.
      const opened = openRegularFile(fullPath, fullPath, (fd) => this.checkOpened(fd, fullPath));
      // Its headers with it, while the name is known to be inside: a media answer needs both.
      if (opened) return keepHeaders(opened, this.headersBeside(fullPath));
    }
    const handle = await open(fullPath, 'r');
    try {
      this.checkOpened(handle.fd, fullPath);
    } catch (error) {
      await handle.close();
      throw error;
    }
    if (range === undefined) return new File(handle, fullPath);
    const stream = handle.createReadStream({ start: range.start, ...(range.end === undefined ? {} : { end: range.end }) });
    return new File(stream, fullPath);
  }

  /** The change time stands for the creation time, as in Django (Unix records no birth time it reports). */
  async stat(fullPath: string): Promise<ObjectStat> {
    const stats = statSync(fullPath);
    return { isFolder: stats.isDirectory(), size: stats.size, modified: stats.mtime, created: stats.ctime, accessed: stats.atime };
  }

  /** Headers are kept beside the file, under a name reserved for the storage (never a user's). */
  async headers(fullPath: string): Promise<ObjectHeaders> {
    return this.headersBeside(fullPath);
  }

  private headersBeside(fullPath: string): ObjectHeaders {
    const file = join(dirname(fullPath), headersFileName(basename(fullPath)));
    // Most files have none: one call says so (a few hundred bytes are read at once when there are).
    if (!existsSync(file)) return {};
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as ObjectHeaders;
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return {};
      throw error;
    }
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
            removed.push(relative(this.root.location, entryPath).split(sep).join('/'));
          }
        }
      }
    };
    await visit(this.root.location);
    return removed;
  }

  /** A full disk or quota names the file, as the database's writes do (one OutOfSpaceError). */
  failure(_operation: string, name: string | null, error: unknown): Error {
    if (isOutOfSpace(error)) return new OutOfSpaceError(name === null ? this.root.location : this.root.join(name), error);
    return error as Error;
  }

}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/** Writes every piece, reading the next one while the current one is written (two in memory at most). */
async function writeOverlapped(fd: number, pieces: AsyncIterator<Uint8Array>): Promise<void> {
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
        const length = chunk.byteLength - written;
        written += length <= IMMEDIATE_WRITE_LIMIT
          ? writeSync(fd, chunk, written, length)
          : (await writeFd(fd, chunk, written, length)).bytesWritten;
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
