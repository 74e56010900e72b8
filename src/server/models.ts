/**
 * The models the server knows: those exported by the modules in settings.MODELS, those given in code and
 * those already prepared in this process. Only models with a file field matter here.
 */
import { settings } from '../conf/settings.ts';
import { importModule } from '../conf/load.ts';
import { isModelClass, modelRegistry, type ModelClass } from '../models/Model.ts';

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
