/**
 * Files no row references: removed after a row change for fields with `cleanup: true` (django-cleanup's
 * behaviour), and found across a whole storage for `filefield cleanup` and the shell's orphans().
 *
 * Rows are read through each model's manager (Model.objects), never the database's internals, so that this
 * works on every engine. A file is never removed while any row of any model refers to its name, whichever
 * storage the row's field uses: two Storage instances can be the same place (MEDIA_ROOT through a field's
 * own FileSystemStorage and through STORAGES), and keeping a file too many is the safe mistake.
 */
import { storages } from '../storage/handler.ts';
import { isProjectFile } from '../storage/projectFiles.ts';
import type { FieldFile } from './FieldFile.ts';
import type { Model, ModelClass } from './Model.ts';
import { modelRegistry } from './registry.ts';

/** The names a row referred to when it was last read or written, per field: what a cleanup compares against. */
const namesInRow = new WeakMap<Model, Map<string, string>>();

function fileNamesOf(instance: Model): Map<string, string> {
  const model = instance.constructor as ModelClass;
  const names = new Map<string, string>();
  for (const [fieldName] of model.fileFields()) {
    const name = (instance as unknown as Record<string, FieldFile | undefined>)[fieldName]?.name;
    names.set(fieldName, name ?? '');
  }
  return names;
}

/** Notes the names the row now holds (after it was read or written). */
export function rememberRowFiles(instance: Model): void {
  namesInRow.set(instance, fileNamesOf(instance));
}

/** Whether any row of any known model refers to `name`. */
export async function isReferenced(name: string, models: Iterable<ModelClass> = modelRegistry.values()): Promise<boolean> {
  for (const model of models) {
    for (const [fieldName] of model.fileFields()) {
      // Awaited as an array: the same call on a QuerySet of any engine.
      if ((await model.objects.filter({ [fieldName]: name })).length > 0) return true;
    }
  }
  return false;
}

/**
 * After a row change is committed: removes the files of `cleanup: true` fields that the row no longer
 * refers to (replaced, emptied, or the row deleted) and that no other row refers to. A failure to remove
 * one leaves it for `filefield cleanup`, never fails the change that was committed.
 */
export async function cleanUpReplacedFiles(instance: Model, deleted: boolean): Promise<void> {
  const before = namesInRow.get(instance);
  const now = deleted ? new Map<string, string>() : fileNamesOf(instance);
  if (!deleted) namesInRow.set(instance, now);
  else namesInRow.delete(instance);
  if (!before) return;
  const model = instance.constructor as ModelClass;
  for (const [fieldName, field] of model.fileFields()) {
    const old = before.get(fieldName);
    if (!field.cleanup || !old || old === now.get(fieldName)) continue;
    try {
      if (!(await isReferenced(old))) await field.storage.delete(old);
    } catch {
      // Kept: `filefield cleanup` finds it later as a file no row references.
    }
  }
}

export interface OrphanSearch {
  /** A STORAGES alias; every configured storage when absent. */
  storage?: string;
  /** Only files last written longer ago than this (1 hour by default), so a save in flight is never touched. */
  olderThanMs?: number;
  /** The models whose rows count (the known ones by default). */
  models?: Iterable<ModelClass>;
}

export interface Orphan {
  alias: string;
  name: string;
  size: number;
  modifiedTime: Date;
}

export const DEFAULT_GRACE_MS = 60 * 60 * 1000;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** '1h', '30m', '45s', '2d', '500ms' or '0' as milliseconds. */
export function parseGracePeriod(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match || (match[2] === undefined && Number(match[1]) !== 0)) {
    throw new RangeError(`'${text}' is not a duration: give a number and a unit (ms, s, m, h, d), e.g. 1h or 30m.`);
  }
  return Number(match[1]) * UNITS[match[2] ?? 'ms']!;
}

/** The stored files no row references, older than the grace period, storage by storage. */
export async function* findOrphans(search: OrphanSearch = {}): AsyncGenerator<Orphan, void, undefined> {
  const models = [...(search.models ?? modelRegistry.values())];
  const graceMs = search.olderThanMs ?? DEFAULT_GRACE_MS;
  for (const alias of search.storage === undefined ? storages.aliases() : [search.storage]) {
    const storage = storages.get(alias);
    const referenced = await referencedNames(models);
    // The cut-off is taken after the rows were read: a file stored since then is younger than it.
    const cutoff = Date.now() - graceMs;
    for await (const entry of storage.listAll('')) {
      if (referenced.has(entry.name) || entry.modifiedTime.getTime() > cutoff || isProjectFile(storage, entry.name)) continue;
      if (await isReferenced(entry.name, models)) continue; // a row written since the first read
      yield { alias, ...entry };
    }
  }
}

/** Every name that rows of `models` refer to. */
async function referencedNames(models: readonly ModelClass[]): Promise<Set<string>> {
  const names = new Set<string>();
  for (const model of models) {
    const fields = model.fileFields().map(([fieldName]) => fieldName);
    if (fields.length === 0) continue;
    for (const row of await model.objects.all()) {
      for (const fieldName of fields) {
        const name = (row as unknown as Record<string, FieldFile>)[fieldName]?.name;
        if (name) names.add(name);
      }
    }
  }
  return names;
}

/** Removes (or, with dryRun, only lists) the orphans; returns them. */
export async function removeOrphans(search: OrphanSearch & { dryRun?: boolean } = {}): Promise<Orphan[]> {
  const found: Orphan[] = [];
  for await (const orphan of findOrphans(search)) {
    if (!search.dryRun) await storages.get(orphan.alias).delete(orphan.name);
    found.push(orphan);
  }
  return found;
}
