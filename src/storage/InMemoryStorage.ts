/**
 * InMemoryStorage: a tree of folders and files in memory, for tests and throwaway sessions. Names are
 * checked and joined exactly as on disk (so traversal fails the same way), URLs are the same.
 */
import { relative, sep } from 'node:path';
import { errorCode } from '../errors.ts';
import { ContentFile, File, concatBytes } from '../files/File.ts';
import { MediaRootStorage } from './MediaRootStorage.ts';

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
  constructor(public bytes: Uint8Array) {}
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

export class InMemoryStorage extends MediaRootStorage {
  private readonly root = new DirectoryNode();

  /** The name as path parts below the root, after the same checks as on disk ('' is the root). */
  private partsOf(name: string): string[] {
    const relativePath = relative(this.location, this.path(name));
    return relativePath === '' ? [] : relativePath.split(sep);
  }

  /** Walks to a folder, creating missing ones when asked; a file in the way is an error, as on disk. */
  private folderAt(parts: readonly string[], create: boolean): DirectoryNode | undefined {
    let folder = this.root;
    let walked = this.location;
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

  private nodeAt(name: string): DirectoryNode | FileNode | undefined {
    const parts = this.partsOf(name);
    if (parts.length === 0) return this.root;
    const folder = this.folderAt(parts.slice(0, -1), false);
    return folder?.children.get(parts[parts.length - 1]!);
  }

  private fileAt(name: string): FileNode {
    const node = this.nodeAt(name);
    if (node === undefined) throw fsError('ENOENT', 'no such file or directory', name);
    if (node instanceof DirectoryNode) throw fsError('EISDIR', 'illegal operation on a directory', name);
    return node;
  }

  private anyNodeAt(name: string): DirectoryNode | FileNode {
    const node = this.nodeAt(name);
    if (node === undefined) throw fsError('ENOENT', 'no such file or directory', name);
    return node;
  }

  protected async _open(name: string): Promise<File> {
    const node = this.fileAt(name);
    node.times.accessed = new Date();
    // A copy: reads are views of the content they read, and a reader changing them must not change the file.
    return new ContentFile(node.bytes.slice(), name);
  }

  protected async _save(name: string, content: File): Promise<string> {
    const pieces: Uint8Array[] = [];
    for await (const chunk of content.chunks()) pieces.push(chunk.slice());
    const bytes = concatBytes(pieces);
    // The bytes are all here before the name is taken, so no reader sees a partial file; a name taken
    // meanwhile by a concurrent save gets another one, as on disk.
    let currentName = name;
    for (;;) {
      const parts = this.partsOf(currentName);
      const folder = this.folderAt(parts.slice(0, -1), true)!;
      const leaf = parts[parts.length - 1]!;
      if (!folder.children.has(leaf)) {
        folder.children.set(leaf, new FileNode(bytes));
        folder.touch();
        return parts.join('/');
      }
      currentName = await this.getAvailableName(currentName);
    }
  }

  override async delete(name: string): Promise<void> {
    const parts = this.partsOf(name);
    if (parts.length === 0) return;
    const folder = this.folderAt(parts.slice(0, -1), false);
    if (folder?.children.delete(parts[parts.length - 1]!)) folder.touch();
  }

  override async exists(name: string): Promise<boolean> {
    try {
      return this.nodeAt(name) !== undefined;
    } catch (error) {
      if (errorCode(error) === 'EEXIST') return false;
      throw error;
    }
  }

  override async listdir(path: string): Promise<[string[], string[]]> {
    const node = this.anyNodeAt(path);
    if (node instanceof FileNode) throw fsError('ENOTDIR', 'not a directory', path);
    const directories: string[] = [];
    const files: string[] = [];
    for (const [childName, child] of node.children) (child instanceof DirectoryNode ? directories : files).push(childName);
    return [directories, files];
  }

  override async size(name: string): Promise<number> {
    return this.fileAt(name).bytes.byteLength;
  }

  override async getAccessedTime(name: string): Promise<Date> {
    return this.anyNodeAt(name).times.accessed;
  }

  override async getCreatedTime(name: string): Promise<Date> {
    return this.anyNodeAt(name).times.created;
  }

  override async getModifiedTime(name: string): Promise<Date> {
    return this.anyNodeAt(name).times.modified;
  }
}
