/**
 * Importing the project's own modules (settings, models, storage backends), TypeScript included, as ES
 * modules that share this copy of filefield.
 */
import { existsSync, readFileSync } from 'node:fs';
import { register } from 'node:module';
import { dirname, isAbsolute, join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { errorCode } from '../errors.ts';

let typeScriptLoaderRegistered = false;
const esModuleRoots = new Set<string>();
/** The URL that imports the newest version of a project file, for those imported fresh since start-up. */
const freshUrls = new Map<string, string>();
let freshImports = 0;

/** The folder of the package a file belongs to, and whether that package is an ES module package. */
function packageOf(file: string): { root: string; isModule: boolean } {
  for (let folder = dirname(file); ; folder = dirname(folder)) {
    const manifest = join(folder, 'package.json');
    if (existsSync(manifest)) {
      try {
        return { root: folder, isModule: (JSON.parse(readFileSync(manifest, 'utf8')) as { type?: unknown }).type === 'module' };
      } catch {
        return { root: folder, isModule: false };
      }
    }
    if (folder === dirname(folder)) return { root: dirname(file), isModule: false };
  }
}

/** Makes the TypeScript files of a CommonJS (or package-less) project load as ES modules; see esmProjectHooks.mjs. */
function loadProjectAsModules(file: string): void {
  if (!/\.tsx?$/.test(file)) return;
  const { root, isModule } = packageOf(file);
  if (isModule || esModuleRoots.has(root)) return;
  esModuleRoots.add(root);
  register(new URL('./esmProjectHooks.mjs', import.meta.url), { data: { root: pathToFileURL(root + sep).href } });
}

/**
 * Imports a module of the project (settings, models, a backend), TypeScript included. An absolute path is a
 * project file; anything else (a package name, a URL) is imported as it is.
 */
export async function importModule(file: string): Promise<Record<string, unknown>> {
  if (!isAbsolute(file)) return import(file);
  const url = freshUrls.get(file) ?? pathToFileURL(file).href;
  loadProjectAsModules(file);
  try {
    return await import(url);
  } catch (error) {
    if (errorCode(error) !== 'ERR_UNKNOWN_FILE_EXTENSION' || typeScriptLoaderRegistered) throw error;
    // A runtime without TypeScript support: tsx brings it.
    const { register: registerTypeScript } = await import('tsx/esm/api');
    registerTypeScript();
    typeScriptLoaderRegistered = true;
    return await import(url);
  }
}

/**
 * Imports a new version of a project file (the shell's `.reload`); later importModule() calls get it.
 * Node keeps one module per URL, so the new version has a URL of its own (a query). Only this file is
 * new: the project files it imports stay as first imported.
 */
export function importFreshModule(file: string): Promise<Record<string, unknown>> {
  if (!isAbsolute(file)) return importModule(file);
  freshImports += 1;
  freshUrls.set(file, `${pathToFileURL(file).href}?version=${freshImports}`);
  return importModule(file);
}
