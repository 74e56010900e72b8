/**
 * The sweep that removes files stored by a process that died before writing their row, run by saves that
 * store a file. Which storage a file is in comes from its model's field, so only models this process has
 * loaded are swept here; the others are left to a process that has them.
 */
import type { DatabaseEngine, InFlightUpload } from '../db/engine.ts';
import { FileField } from './FileField.ts';
import { modelRegistry } from './registry.ts';

function fieldOf(entry: InFlightUpload): FileField | undefined {
  const field = modelRegistry.get(entry.model)?.fields[entry.field];
  return field instanceof FileField ? field : undefined;
}

export function sweepAbandonedUploads(database: DatabaseEngine): Promise<number> {
  async function isReferenced(entry: InFlightUpload, name: string): Promise<boolean> {
    const model = modelRegistry.get(entry.model);
    const field = fieldOf(entry);
    if (!model || !field) return false;
    return (await database.referencedNames(model.schema, field.lookupColumn, [name])).has(name);
  }
  return database.uploads.sweep({
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
      if ((await database.uploads.namesInProgress()).has(name) || (await isReferenced(entry, name))) return false;
      await storage.delete(name);
      return true;
    },
  });
}
