/**
 * The record of the files stored for one row, in the database's record of saves in flight. Each file is
 * recorded before its bytes go to the storage; the entries are closed with the row's write (or once the
 * files are removed again). A process that dies in between leaves them open, and a later save sweeps the
 * files.
 */
import type { InFlightUpload, InFlightUploads } from '../db/engine.ts';
import type { StoreHooks } from './FieldFile.ts';

export class RowFiles {
  private readonly open: InFlightUpload[] = [];

  constructor(private readonly uploads: InFlightUploads, private readonly table: string) {}

  /** The entries still open (the row's write closes them). */
  get entries(): readonly InFlightUpload[] {
    return this.open;
  }

  /**
   * Hooks for one store: record the name asked for, then the name and bytes about to be published, then
   * the name stored (reported to `onStored`).
   */
  hooks(field: string, onStored: (storedName: string) => void = () => undefined): StoreHooks {
    let entry: InFlightUpload | undefined;
    return {
      beforeStore: async (requestedName) => {
        entry = await this.uploads.begin(this.table, field, requestedName);
        this.open.push(entry);
      },
      beforePublish: async (name, digest) => {
        await this.uploads.recordPublishing(entry!, name, digest);
      },
      afterStore: async (storedName) => {
        onStored(storedName);
        await this.uploads.recordStored(entry!, storedName);
      },
    };
  }

  /**
   * The files wait for a row that a later save writes (FieldFile.save with `save: false`): a clean exit
   * before that keeps them, as the caller chose; only a crash leaves them to the sweep.
   */
  awaitRow(): void {
    for (const entry of this.open) this.uploads.keepOnCleanExit(entry);
  }

  /** The row's write closed the entries. */
  closedByRow(): void {
    this.open.length = 0;
  }

  /** The row is written, or the files are gone again: the entries are closed. */
  async close(): Promise<void> {
    for (const entry of this.open.splice(0)) await this.uploads.finish(entry);
  }
}
