/**
 * The models the server knows: those exported by the modules in settings.MODELS, those given in code and
 * those already prepared in this process. Only models with a file field matter here.
 */
import { settings } from '../conf/settings.ts';
import { importModule } from '../conf/load.ts';
import { Field } from '../models/fields.ts';
import { FileField } from '../models/FileField.ts';
import type { FieldFile } from '../models/FieldFile.ts';
import { isModelClass, modelRegistry, type ModelClass } from '../models/Model.ts';
import type { Storage } from '../storage/Storage.ts';

/** The fields a form fills with text (everything but files). */
export function valueFieldsOf(model: ModelClass): [string, Field][] {
  return Object.entries(model.fields).filter(([, field]) => field instanceof Field && !(field instanceof FileField));
}

/** Models with at least one file field, in a stable order: settings first, then the others by name. */
export async function discoverModels(given: readonly ModelClass[] = []): Promise<ModelClass[]> {
  const found: ModelClass[] = [...given];
  for (const specifier of settings.MODELS) {
    const module = await importModule(specifier);
    for (const exported of Object.values(module)) if (isModelClass(exported)) found.push(exported);
  }
  const registered = [...modelRegistry.values()].sort((a, b) => a.name.localeCompare(b.name));
  const unique: ModelClass[] = [];
  const tables = new Set<string>();
  for (const model of [...found, ...registered]) {
    // Two classes may share a table (a model imported twice under different URLs): the first one wins.
    if (tables.has(model.tableName) || model.fileFields().length === 0) continue;
    tables.add(model.tableName);
    unique.push(model);
  }
  return unique;
}

/**
 * The content type recorded, at save time, by the row that refers to `name` in `storage`, if any row does.
 * The type was sniffed from the bytes then, so it is trusted over anything a client or a name suggests.
 */
export async function recordedContentType(models: readonly ModelClass[], storage: Storage, name: string): Promise<string | undefined> {
  for (const model of models) {
    for (const [fieldName, field] of model.fileFields()) {
      if (field.storage !== storage) continue;
      const [match] = await model.objects.filter({ [fieldName]: name });
      const contentType = (match?.[fieldName as keyof typeof match] as FieldFile | undefined)?.metadata.contentType;
      if (contentType) return contentType;
    }
  }
  return undefined;
}
