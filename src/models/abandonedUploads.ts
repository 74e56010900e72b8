/**
 * The sweep that removes files stored by a process that died before writing their row, run by saves that
 * store a file. Which storage a file is in comes from its model's field, so only models this process has
 * loaded are swept here; the others are left to a process that has them.
 */
import type { DatabaseEngine, InFlightUpload } from '../db/engine.ts';
import { digestOf, type ContentDigest } from '../files/digest.ts';
import type { Storage } from '../storage/Storage.ts';
import { FileField } from './FileField.ts';
import { modelRegistry } from './registry.ts';

function fieldOf(entry: InFlightUpload): FileField | undefined {
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

export function sweepAbandonedUploads(database: DatabaseEngine): Promise<number> {
  async function isReferenced(entry: InFlightUpload, name: string): Promise<boolean> {
    const model = modelRegistry.get(entry.model);
    const field = fieldOf(entry);
    if (!model || !field) return false;
    return (await database.referencedNames(model.schema, field.lookupColumn, [name])).has(name);
  }
  return database.uploads.sweep({
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
      if ((await database.uploads.namesInProgress()).has(name) || (await isReferenced(entry, name))) return false;
      await storage.delete(name);
      return true;
    },
  });
}
