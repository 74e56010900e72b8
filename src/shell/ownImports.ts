/**
 * The project's own preloads: `SHELL: { imports: { name: 'module#export' | 'module' } }` in the settings
 * (as Django's shell auto-imports and shell_plus's SHELL_PLUS_IMPORTS). `module#export` preloads that
 * export, `module` the whole module (as `import * as name`), found from BASE_DIR as the project's own
 * code would import it (projectImport.ts).
 */
import { settings } from '../conf/settings.ts';
import { ImproperlyConfigured } from '../errors.ts';
import type { Preload } from './context.ts';
import { importFrom } from './projectImport.ts';

const IDENTIFIER = /^[\p{L}_$][\p{L}\p{N}_$]*$/u;

/** SHELL.imports as given, checked: an object of strings. */
export function requestedImports(): Record<string, string> {
  const shell = settings.SHELL as unknown;
  if (shell === undefined || shell === null) return {};
  if (typeof shell !== 'object' || Array.isArray(shell)) throw new ImproperlyConfigured('SHELL must be an object such as { imports: { … } }.');
  const imports = (shell as { imports?: unknown }).imports;
  if (imports === undefined) return {};
  if (typeof imports !== 'object' || imports === null || Array.isArray(imports)) {
    throw new ImproperlyConfigured("SHELL.imports must be an object of names and modules, such as { sharp: 'sharp', slugify: './text.ts#slugify' }.");
  }
  for (const [name, specifier] of Object.entries(imports)) {
    if (typeof specifier !== 'string' || specifier === '' || specifier.startsWith('#')) {
      throw new ImproperlyConfigured(`SHELL.imports.${name} must be a module ('module' or 'module#export'), got ${JSON.stringify(specifier)}.`);
    }
  }
  return imports as Record<string, string>;
}

/**
 * Imports SHELL.imports; a name that another preload already has (`taken`, which says whose it is)
 * stays that preload's, and the notice says so.
 */
export async function importOwnPreloads(taken: Map<string, string>): Promise<{ entries: Preload[]; notices: string[] }> {
  const entries: Preload[] = [];
  const notices: string[] = [];
  for (const [name, specifier] of Object.entries(requestedImports())) {
    const owner = taken.get(name);
    if (owner !== undefined) {
      notices.push(`SHELL.imports.${name} is not preloaded: ${name} is ${owner}`);
      continue;
    }
    if (!IDENTIFIER.test(name)) {
      notices.push(`SHELL.imports: ${JSON.stringify(name)} is not a name that code can use`);
      continue;
    }
    const hash = specifier.lastIndexOf('#');
    const module = hash === -1 ? specifier : specifier.slice(0, hash);
    const exportName = hash === -1 ? null : specifier.slice(hash + 1);
    let exported: Record<string, unknown>;
    try {
      exported = await importFrom(settings.BASE_DIR, module);
    } catch (error) {
      notices.push(`Could not import ${module} (SHELL.imports.${name}): ${(error as Error).message.split('\n')[0]}`);
      continue;
    }
    if (exportName !== null && !(exportName in exported)) {
      notices.push(`SHELL.imports.${name}: ${module} has no export ${JSON.stringify(exportName)}`);
      continue;
    }
    entries.push({ name, value: exportName === null ? exported : exported[exportName], help: `from SHELL.imports: ${specifier}` });
  }
  return { entries, notices };
}
