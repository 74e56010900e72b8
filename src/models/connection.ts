/**
 * The database and upload journal of the current settings (rebuilt when DATABASE changes), and the
 * sweep that removes files stored by a process that died before writing their row.
 */
import { settings, onSettingsChange } from '../conf/settings.ts';
import { Database } from '../db/Database.ts';
import { UploadJournal, type JournalEntry } from '../db/journal.ts';
import { digestOf, type ContentDigest } from '../files/digest.ts';
import type { Storage } from '../storage/Storage.ts';
import { FileField } from './FileField.ts';
import { modelRegistry } from './Model.ts';

export interface Connection {
  database: Database;
  journal: UploadJournal;
  sweepAbandonedUploads(): Promise<number>;
}

let current: Connection | null = null;
onSettingsChange(() => {
  if (current && current.database.file !== settings.DATABASE) current = null;
});

function fieldOf(entry: JournalEntry): FileField | undefined {
  const field = modelRegistry.get(entry.model)?.fields[entry.field];
  return field instanceof FileField ? field : undefined;
}

/** Whether the stored file `name` is made of exactly these bytes (size first: most mismatches cost no read). */
async function holdsBytes(storage: Storage, name: string, expected: ContentDigest): Promise<boolean> {
  if ((await storage.size(name)) !== expected.size) return false;
  const file = await storage.open(name);
  try {
    const found = await digestOf(file.chunks());
    return found.size === expected.size && found.sha256 === expected.sha256;
  } finally {
    await file.close();
  }
}

function open(file: string): Connection {
  const database = new Database(file);
  const journal = new UploadJournal(`${file}.uploads`);
  return {
    database,
    journal,
    sweepAbandonedUploads: () => {
      async function isReferenced(entry: JournalEntry, name: string): Promise<boolean> {
        const rows = (await database.read()).tables[entry.model] ?? [];
        return rows.some((row) => (row[entry.field] as { name?: unknown } | null)?.name === name);
      }
      return journal.sweep({
        isReferenced,
        async deleteOrphan(entry, name, expected) {
          const field = fieldOf(entry);
          if (!field) return false; // a model this process has not loaded: leave it for one that has
          const storage = field.storage;
          if (!(await storage.exists(name))) return true;
          // Another file under the name (the dead save never published, and someone else stored it since): not ours.
          if (expected && !(await holdsBytes(storage, name, expected))) return true;
          // The file exists, so a live save that stored it has its entry open until its row is written: look
          // in that order (entries, then rows), or the file may be one whose row is being written right now.
          // Such a file is kept, and so is the dead entry, to be settled once that save is done.
          if ((await journal.namesInProgress()).has(name) || (await isReferenced(entry, name))) return false;
          await storage.delete(name);
          return true;
        },
      });
    },
  };
}

export function connection(): Connection {
  current ??= open(settings.DATABASE);
  return current;
}
