/**
 * Importing a module by the name a project's code would use, from one of its folders: a path is a project
 * file (loaded as filefield loads the project's settings and models, TypeScript included, sharing this
 * copy of filefield), `filefield` is this copy, and a package is found from that folder, as Node would
 * find it for a file there. Used by SHELL.imports (from BASE_DIR) and static imports at the prompt (from
 * the working directory).
 */
import { createRequire, isBuiltin } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { importModule } from '../conf/load.ts';

export type ImportAttributes = Record<string, string>;

export async function importFrom(folder: string, specifier: string, attributes?: ImportAttributes): Promise<Record<string, unknown>> {
  if (specifier.startsWith('./') || specifier.startsWith('../') || isAbsolute(specifier)) return importModule(resolve(folder, specifier));
  if (isBuiltin(specifier) || /^filefield(\/|$)/.test(specifier)) return importModule(specifier);
  let file: string;
  try {
    file = createRequire(join(folder, 'package.json')).resolve(specifier);
  } catch {
    // Not found from there (or only importable, not requirable): as Node resolves it from this copy.
    return importModule(specifier);
  }
  const url = pathToFileURL(file).href;
  return (attributes ? import(url, { with: attributes }) : import(url)) as Promise<Record<string, unknown>>;
}
