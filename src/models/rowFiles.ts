/**
 * The journal entries of the files stored for one row. Each file is journaled before its bytes go to the
 * storage; the entries are closed once the row that refers to the files is written (or the files are
 * removed again). A process that dies in between leaves them open, and the next save sweeps the files.
 */
import type { JournalEntry, UploadJournal } from '../db/journal.ts';
import type { StoreHooks } from './FieldFile.ts';

export class RowFiles {
  private readonly entries: JournalEntry[] = [];

  constructor(private readonly journal: UploadJournal, private readonly table: string) {}

  /**
   * Hooks for one store: journal the name asked for, then the name and bytes about to be published, then
   * the name stored (reported to `onStored`).
   */
  hooks(field: string, onStored: (storedName: string) => void = () => undefined): StoreHooks {
    let entry: JournalEntry | undefined;
    return {
      beforeStore: async (requestedName) => {
        entry = await this.journal.begin(this.table, field, requestedName);
        this.entries.push(entry);
      },
      beforePublish: async (name, digest) => {
        await this.journal.recordPublishing(entry!, name, digest);
      },
      afterStore: async (storedName) => {
        onStored(storedName);
        await this.journal.recordStored(entry!, storedName);
      },
    };
  }

  /**
   * The files wait for a row that a later save writes (FieldFile.save with `save: false`): a clean exit
   * before that keeps them, as the caller chose; only a crash leaves them to the sweep.
   */
  awaitRow(): void {
    for (const entry of this.entries) this.journal.keepOnCleanExit(entry);
  }

  /** The row is written, or the files are gone again: the entries are closed. */
  async close(): Promise<void> {
    for (const entry of this.entries.splice(0)) await this.journal.finish(entry);
  }
}
