/**
 * The database and upload journal of the current settings (rebuilt when DATABASE changes), and the
 * sweep that removes files stored by a process that died before writing their row.
 */
import { settings, onSettingsChange } from '../conf/settings.ts';
import { Database } from '../db/Database.ts';
import { UploadJournal, type JournalEntry } from '../db/journal.ts';
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
        async deleteOrphan(entry, name, createdAfter) {
          const field = fieldOf(entry);
          if (!field) return false; // a model this process has not loaded: leave it for one that has
          const storage = field.storage;
          if (!(await storage.exists(name))) return true;
          // Only the name asked for is known: delete it only if it appeared after the dead save began.
          if (createdAfter > 0 && (await storage.getCreatedTime(name)).getTime() < createdAfter - 1000) return true;
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
