/**
 * One model save under way: what its fields' preSave() hooks did that a failure must undo, and the record
 * of the files they stored, closed by the row's write.
 */
import type { DatabaseEngine } from '../db/engine.ts';
import { sweepAbandonedUploads } from './abandonedUploads.ts';
import type { StoreHooks } from './FieldFile.ts';
import type { SaveContext } from './fields.ts';
import { RowFiles } from './rowFiles.ts';

export class RowSave implements SaveContext {
  readonly files: RowFiles;
  private readonly undo: (() => Promise<void>)[] = [];
  private swept: Promise<unknown> | null = null;

  constructor(readonly database: DatabaseEngine, table: string) {
    this.files = new RowFiles(database.uploads, table);
  }

  onFailure(step: () => Promise<void>): void {
    this.undo.push(step);
  }

  storeHooks(field: string, onStored?: (storedName: string) => void): StoreHooks {
    return this.files.hooks(field, onStored);
  }

  /** Once per save, before its first file is stored: what dead processes left is removed. */
  sweepAbandonedUploads(): Promise<unknown> {
    this.swept ??= sweepAbandonedUploads(this.database);
    return this.swept;
  }

  /** The save failed: undo what the fields did (newest first), then close the record of its files. */
  async failed(): Promise<void> {
    for (const step of this.undo.reverse()) await step().catch(() => undefined);
    await this.files.close();
  }
}
