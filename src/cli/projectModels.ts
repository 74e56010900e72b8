/**
 * The project's models for the commands that work on every table (migrate, dumpdata, loaddata): those
 * exported by the modules of settings.MODELS, then any other already prepared in this process.
 */
import { importModule } from '../conf/load.ts';
import { settings } from '../conf/settings.ts';
import { isModelClass, modelRegistry, type ModelClass } from '../models/Model.ts';

export async function loadProjectModels(): Promise<ModelClass[]> {
  const found: ModelClass[] = [];
  for (const specifier of settings.MODELS) {
    const module = await importModule(specifier);
    for (const exported of Object.values(module)) if (isModelClass(exported)) found.push(exported);
  }
  const byTable = new Map<string, ModelClass>();
  // Two classes may share a table (a model imported twice under different URLs): the first one wins.
  for (const model of [...found, ...modelRegistry.values()]) if (!byTable.has(model.tableName)) byTable.set(model.tableName, model);
  return [...byTable.values()];
}

/** The one-line form of a failure for a command's output: filefield's errors as class and message. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
