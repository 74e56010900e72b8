// A new backend is a driver and a registry entry: a small key-value one (a Map of keys to bytes, with no
// folders of its own, like an object store) written here against the driver contract passes the same
// conformance suite as the built-in backends, configured by name through STORAGES.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContentFile, File, Storage, configure, storages } from '../src/index.ts';
import type {
  ByteRange, DriverCapabilities, ListPage, ListRequest, ObjectHeaders, ObjectStat, StorageDriver, WriteRequest,
} from '../src/storage/driver.ts';
import { registerBackend } from '../src/storage/registry.ts';
import { segmentsBelow } from '../src/storage/remoteNames.ts';
import { mediaUrl } from '../src/storage/urls.ts';
import { storageConformance } from './support/conformance.ts';

interface Entry {
  bytes: Uint8Array;
  headers: ObjectHeaders;
  modified: Date;
}

class KeyValueDriver implements StorageDriver {
  readonly capabilities: DriverCapabilities = {
    localPath: false, urlSigning: false, uploadSigning: false, serverSideCopy: false, contentTypes: true, flatListing: true,
  };
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly baseUrl: string) {}

  keyOf(name: string): string {
    return segmentsBelow(name, { shownBase: '/', backslashSeparates: true }).join('/');
  }

  async write({ content, headers, replace, claim }: WriteRequest): Promise<string> {
    const pieces: Uint8Array[] = [];
    for await (const piece of content.chunks()) pieces.push(piece.slice());
    const entry = { bytes: Buffer.concat(pieces), headers, modified: new Date() };
    while (!replace && this.entries.has(claim.key)) await claim.taken(new Error('taken'));
    this.entries.set(claim.key, entry);
    return claim.key;
  }

  async read(key: string, name: string, range?: ByteRange): Promise<File> {
    const entry = this.entries.get(key);
    if (!entry) throw Object.assign(new Error(`no such key: ${key}`), { code: 'ENOENT' });
    return new ContentFile(entry.bytes.slice(range?.start ?? 0, range?.end === undefined ? undefined : range.end + 1), name);
  }

  async stat(key: string): Promise<ObjectStat> {
    const entry = this.entries.get(key);
    if (!entry) throw Object.assign(new Error(`no such key: ${key}`), { code: 'ENOENT' });
    return { isFolder: false, size: entry.bytes.byteLength, modified: entry.modified, created: entry.modified, accessed: entry.modified };
  }

  async exists(key: string): Promise<boolean> {
    return this.entries.has(key) || [...this.entries.keys()].some((other) => other.startsWith(`${key}/`));
  }

  async remove(key: string): Promise<void> {
    this.entries.delete(key);
  }

  async list(key: string, { recursive, cursor, pageSize }: ListRequest): Promise<ListPage> {
    const prefix = key === '' ? '' : `${key}/`;
    const below = [...this.entries.entries()].filter(([other]) => other.startsWith(prefix)).sort(([a], [b]) => a.localeCompare(b));
    const start = cursor === null ? 0 : Number(cursor);
    const page: ListPage = { folders: [], files: [], cursor: start + pageSize < below.length ? String(start + pageSize) : null };
    const folders = new Set<string>();
    for (const [other, entry] of below.slice(start, start + pageSize)) {
      const relative = other.slice(prefix.length);
      const slash = relative.indexOf('/');
      if (!recursive && slash >= 0) folders.add(relative.slice(0, slash));
      else page.files.push({ name: relative, size: entry.bytes.byteLength, modifiedTime: entry.modified });
    }
    // A folder met on two pages is listed on both: the Storage base lists it once.
    page.folders.push(...folders);
    return page;
  }

  async headers(key: string): Promise<ObjectHeaders> {
    return { ...this.entries.get(key)?.headers };
  }

  url(name: string | null): string {
    return mediaUrl(this.baseUrl, name);
  }

  describe(): string {
    return `${this.entries.size} keys`;
  }
}

class KeyValueStorage extends Storage {
  constructor(options: { baseUrl?: string } = {}) {
    super(new KeyValueDriver(options.baseUrl ?? '/kv/'));
  }
}

registerBackend({ name: 'keyvalue', options: ['baseUrl'], factory: KeyValueStorage });

const settingsRoot = mkdtempSync(join(tmpdir(), 'filefield-new-backend-'));
before(async () => {
  await configure({ BASE_DIR: settingsRoot, SECRET_KEY: 'new-backend-test-secret-key', STORAGES: { default: { BACKEND: 'keyvalue', OPTIONS: { baseUrl: '/kv/' } } } });
});
after(async () => {
  await configure({});
  rmSync(settingsRoot, { recursive: true, force: true });
});

test('the registered name is a BACKEND like the built-in ones', () => {
  assert.ok(storages.get('default') instanceof KeyValueStorage);
});

storageConformance('KeyValueStorage (a driver and a registry entry)', async () => ({ storage: storages.get('default') }), { hasPath: false, largeFileMiB: 16 });
