/**
 * The upload journal: a small file per file being stored for a row, written before the bytes go to the
 * storage and removed once the row is written (or the file removed again). If the process dies in
 * between, the entry outlives it, and the next save sweeps it: a stored file that no row refers to is
 * deleted, so a crash leaves neither a row without its file nor (after the next save) an orphan.
 */
import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { errorCode } from '../errors.ts';
import { processIsAlive } from './lock.ts';

export interface JournalEntry {
  token: string;
  pid: number;
  started: number;
  model: string;
  field: string;
  /** The name asked of the storage; the stored name may carry a suffix if it was taken. */
  requestedName: string;
  storedName?: string;
}

export interface OrphanResolver {
  /** Whether some row refers to this stored name (then it is no orphan). */
  isReferenced(entry: JournalEntry, name: string): Promise<boolean>;
  /** Deletes the file, if the entry's model and field are known here; false to keep the entry for later. */
  deleteOrphan(entry: JournalEntry, name: string, createdAfter: number): Promise<boolean>;
}

export class UploadJournal {
  private readonly ownTokens = new Set<string>();

  constructor(readonly folder: string) {}

  private fileOf(token: string): string {
    return join(this.folder, `${token}.json`);
  }

  private async put(entry: JournalEntry): Promise<void> {
    const file = this.fileOf(entry.token);
    const temporary = `${file}.tmp`;
    await writeFile(temporary, JSON.stringify(entry));
    await rename(temporary, file);
  }

  async begin(model: string, field: string, requestedName: string): Promise<JournalEntry> {
    await mkdir(this.folder, { recursive: true });
    const entry: JournalEntry = { token: randomUUID(), pid: process.pid, started: Date.now(), model, field, requestedName };
    this.ownTokens.add(entry.token);
    await this.put(entry);
    return entry;
  }

  async recordStored(entry: JournalEntry, storedName: string): Promise<void> {
    entry.storedName = storedName;
    await this.put(entry);
  }

  /** The row is written (or the file removed again): the entry is done. */
  async finish(entry: JournalEntry): Promise<void> {
    this.ownTokens.delete(entry.token);
    await unlink(this.fileOf(entry.token)).catch(() => undefined);
  }

  /** Entries whose process is gone (not ours, not alive). */
  async abandoned(): Promise<JournalEntry[]> {
    let names: string[];
    try {
      names = await readdir(this.folder);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return [];
      throw error;
    }
    const entries: JournalEntry[] = [];
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      try {
        const entry = JSON.parse(await readFile(join(this.folder, name), 'utf8')) as JournalEntry;
        if (this.ownTokens.has(entry.token)) continue;
        if (entry.pid !== process.pid && processIsAlive(entry.pid)) continue;
        entries.push(entry);
      } catch {
        // Half-written (its writer died before the rename cannot happen: the rename is atomic) or removed meanwhile.
      }
    }
    return entries;
  }

  /** Deletes what abandoned entries stored and no row refers to, then drops the entries. */
  async sweep(resolver: OrphanResolver): Promise<number> {
    let removed = 0;
    for (const entry of await this.abandoned()) {
      const name = entry.storedName ?? entry.requestedName;
      let settled = true;
      if (!(await resolver.isReferenced(entry, name))) {
        settled = await resolver.deleteOrphan(entry, name, entry.storedName ? 0 : entry.started);
        if (settled) removed++;
      }
      if (settled) await unlink(this.fileOf(entry.token)).catch(() => undefined);
    }
    return removed;
  }
}
