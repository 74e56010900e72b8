/**
 * InMemoryStorage: a tree of folders and files in memory, for tests and throwaway sessions. Names are
 * checked and joined exactly as on disk (so traversal fails the same way), URLs are the same.
 */
import { relative, sep } from 'node:path';
import { errorCode } from '../errors.ts';
import { ContentFile, File, concatBytes } from '../files/File.ts';
import type {
  ByteRange, DriverCapabilities, ListPage, ListRequest, ObjectHeaders, ObjectStat, StorageDriver, WriteRequest,
} from './driver.ts';
import { MediaRoot, MediaRootDriver, MediaRootStorage, type MediaRootStorageOptions } from './MediaRootStorage.ts';

interface Times {
  created: Date;
  modified: Date;
  accessed: Date;
}

function newTimes(): Times {
  const now = new Date();
  return { created: now, modified: now, accessed: now };
}

class FileNode {
  readonly times = newTimes();
  constructor(public bytes: Uint8Array, public headers: ObjectHeaders = {}) {}
}

class DirectoryNode {
  readonly times = newTimes();
  readonly children = new Map<string, DirectoryNode | FileNode>();

  touch(): void {
    const now = new Date();
    this.times.modified = now;
    this.times.accessed = now;
  }
}

function fsError(code: string, message: string, path: string): Error {
  return Object.assign(new Error(`${code}: ${message}, '${path}'`), { code, path });
}

/** Keys are the name's parts below the root joined by '/' ('' is the root). */
export class InMemoryDriver extends MediaRootDriver implements StorageDriver {
  // Local: its names have paths (where they would be on disk), and this process serves its bytes.
  readonly capabilities: DriverCapabilities = Object.freeze({
    localPath: true, urlSigning: false, uploadSigning: true, serverSideCopy: true, contentTypes: false, flatListing: false,
  });
  private readonly tree = new DirectoryNode();

  /** The name as path parts below the root, after the same checks as on disk. */
  keyOf(name: string): string {
    return relative(this.root.location, this.root.join(name)).split(sep).join('/');
  }

  path(name: string): string {
    return this.root.join(name);
  }

  private partsOf(key: string): string[] {
    return key === '' ? [] : key.split('/');
  }

  /** Walks to a folder, creating missing ones when asked; a file in the way is an error, as on disk. */
  private folderAt(parts: readonly string[], create: boolean): DirectoryNode | undefined {
    let folder = this.tree;
    let walked = this.root.location;
    for (const part of parts) {
      walked += sep + part;
      let child = folder.children.get(part);
      if (child === undefined) {
        if (!create) return undefined;
        child = new DirectoryNode();
        folder.children.set(part, child);
        folder.touch();
      }
      if (child instanceof FileNode) {
        throw Object.assign(new Error(`${walked} exists and is not a directory.`), { code: 'EEXIST', path: walked });
      }
      folder = child;
    }
    return folder;
  }

  private nodeAt(key: string): DirectoryNode | FileNode | undefined {
    const parts = this.partsOf(key);
    if (parts.length === 0) return this.tree;
    const folder = this.folderAt(parts.slice(0, -1), false);
    return folder?.children.get(parts[parts.length - 1]!);
  }

  private fileAt(key: string): FileNode {
    const node = this.nodeAt(key);
    if (node === undefined) throw fsError('ENOENT', 'no such file or directory', key);
    if (node instanceof DirectoryNode) throw fsError('EISDIR', 'illegal operation on a directory', key);
    return node;
  }

  private anyNodeAt(key: string): DirectoryNode | FileNode {
    const node = this.nodeAt(key);
    if (node === undefined) throw fsError('ENOENT', 'no such file or directory', key);
    return node;
  }

  async read(key: string, name: string, range?: ByteRange): Promise<File> {
    const node = this.fileAt(key);
    node.times.accessed = new Date();
    // A copy: reads are views of the content they read, and a reader changing them must not change the file.
    const bytes = range === undefined ? node.bytes.slice() : node.bytes.slice(range.start, range.end === undefined ? undefined : range.end + 1);
    return new ContentFile(bytes, name);
  }

  async write({ content, headers, replace, claim }: WriteRequest): Promise<string> {
    const pieces: Uint8Array[] = [];
    for await (const chunk of content.chunks()) pieces.push(chunk.slice());
    // The bytes are all here before the name is taken, so no reader sees a partial file.
    return this.publish(new FileNode(concatBytes(pieces), { ...headers }), replace, claim);
  }

  private async publish(node: FileNode, replace: boolean, claim: WriteRequest['claim']): Promise<string> {
    for (;;) {
      const parts = this.partsOf(claim.key);
      const folder = this.folderAt(parts.slice(0, -1), true)!;
      const leaf = parts[parts.length - 1]!;
      if (replace || !folder.children.has(leaf)) {
        folder.children.set(leaf, node);
        folder.touch();
        return parts.join('/');
      }
      await claim.taken(fsError('EEXIST', 'file already exists', claim.key));
    }
  }

  async copy(fromKey: string, { headers, replace, claim }: Omit<WriteRequest, 'content'>): Promise<string> {
    const source = this.fileAt(fromKey);
    return this.publish(new FileNode(source.bytes, { ...source.headers, ...headers }), replace, claim);
  }

  async remove(key: string): Promise<void> {
    const parts = this.partsOf(key);
    if (parts.length === 0) return;
    const folder = this.folderAt(parts.slice(0, -1), false);
    if (folder?.children.delete(parts[parts.length - 1]!)) folder.touch();
  }

  async exists(key: string): Promise<boolean> {
    try {
      return this.nodeAt(key) !== undefined;
    } catch (error) {
      if (errorCode(error) === 'EEXIST') return false;
      throw error;
    }
  }

  async list(key: string, _request: ListRequest): Promise<ListPage> {
    const node = this.anyNodeAt(key);
    if (node instanceof FileNode) throw fsError('ENOTDIR', 'not a directory', key);
    const page: ListPage = { folders: [], files: [], cursor: null };
    for (const [childName, child] of node.children) {
      if (child instanceof DirectoryNode) page.folders.push(childName);
      else page.files.push({ name: childName, size: child.bytes.byteLength, modifiedTime: child.times.modified });
    }
    return page;
  }

  async stat(key: string): Promise<ObjectStat> {
    const node = this.anyNodeAt(key);
    const size = node instanceof FileNode ? node.bytes.byteLength : 0;
    return { isFolder: node instanceof DirectoryNode, size, ...node.times };
  }

  async headers(key: string): Promise<ObjectHeaders> {
    return { ...this.fileAt(key).headers };
  }




}

export class InMemoryStorage extends MediaRootStorage {
  constructor(options: MediaRootStorageOptions = {}) {
    const root = new MediaRoot(options);
    super(root, new InMemoryDriver(root));
  }

  protected override get guardsDelete(): boolean {
    return false;
  }
}
