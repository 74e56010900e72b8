/**
 * Importing the project's own modules (settings, models, storage backends), TypeScript or JavaScript,
 * without a module-loader hook: each one is bundled with esbuild (its relative imports included, packages
 * left to Node) into a hidden `.mjs` beside it, which is imported and removed. As with Vite's config
 * loading, bare imports then resolve exactly as they would from the source's folder, and a fresh bundle is
 * a fresh version (`importFreshModule`, for the shell's `.reload`).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { createRequire, isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BuildFailure, Plugin } from 'esbuild';
import { isUnwritableFolder } from '../errors.ts';

type Esbuild = typeof import('esbuild');
type ModuleNamespace = Record<string, unknown>;

const imported = new Map<string, Promise<ModuleNamespace>>();
let esbuild: Esbuild | undefined;

/**
 * Imports a module of the project (settings, models, a backend). An absolute path is a project file,
 * imported once per process (every caller gets the same classes); anything else (a package name, a URL)
 * is imported as it is.
 */
export function importModule(specifier: string): Promise<ModuleNamespace> {
  if (!isAbsolute(specifier)) return import(specifier) as Promise<ModuleNamespace>;
  let module = imported.get(specifier);
  if (!module) {
    module = importProjectFile(specifier);
    imported.set(specifier, module);
    // A failed import is not remembered: the next attempt reads the file again.
    module.catch(() => imported.delete(specifier));
  }
  return module;
}

/** Imports a new version of a project file (and of the project files it imports); later importModule() calls get it. */
export function importFreshModule(file: string): Promise<ModuleNamespace> {
  imported.delete(file);
  return importModule(file);
}

/** Forgets every project module imported so far, so that the next importModule() of each reads it again. */
export function forgetImportedModules(): void {
  imported.clear();
}

// ---------------------------------------------------------------------------------------------------------

const OWN_ROOT = new URL('../../', import.meta.url);
const RUNNING_FROM_SOURCES = import.meta.url.endsWith('.ts');

let ownExports: Record<string, unknown> | undefined;

/**
 * The file of this running copy of filefield that `filefield` or `filefield/<subpath>` names, as the
 * package's exports map says. Project files import exactly this copy, whichever `filefield` their own
 * node_modules hold, so that a model class of theirs extends the Model the shell has.
 */
function ownModuleFor(specifier: string): string | null {
  ownExports ??= (JSON.parse(readFileSync(new URL('package.json', OWN_ROOT), 'utf8')) as { exports: Record<string, unknown> }).exports;
  const entry = ownExports[`.${specifier.slice('filefield'.length)}`];
  const target = typeof entry === 'string' ? entry : (entry as { default?: string } | undefined)?.default;
  if (target === undefined) return null;
  // In the checkout's tests the sources themselves run: their copy is src/, not the built dist/.
  const file = RUNNING_FROM_SOURCES ? target.replace(/^\.\/dist\//, './src/').replace(/\.js$/, '.ts') : target;
  return fileURLToPath(new URL(file, OWN_ROOT));
}

/**
 * The file of this running copy that a project file names by path into filefield's own folder (a checkout's
 * `src/` or `dist/`, as its tests and examples do): the copy that runs, never a second one bundled in.
 */
function ownFileAt(path: string): string | null {
  const root = fileURLToPath(OWN_ROOT);
  const inner = /^(?:src|dist)\/(.+)\.(?:ts|js)$/.exec(relative(root, path))?.[1];
  if (inner === undefined) return null;
  const file = join(root, RUNNING_FROM_SOURCES ? `src/${inner}.ts` : `dist/${inner}.js`);
  return existsSync(file) ? file : null;
}

const filefieldItself: Plugin = {
  name: 'filefield-itself',
  setup(build) {
    build.onResolve({ filter: /^\.\.?\// }, (args) => {
      const file = ownFileAt(resolve(args.resolveDir, args.path));
      if (file === null) return undefined;
      const url = pathToFileURL(file).href;
      return args.kind === 'require-call' ? { path: url, namespace: 'filefield-itself' } : { path: url, external: true };
    });
    build.onResolve({ filter: /^filefield(\/.*)?$/ }, (args) => {
      const file = ownModuleFor(args.path);
      if (file === null) return { errors: [{ text: `The package filefield has no export "${args.path}".` }] };
      const url = pathToFileURL(file).href;
      // require() of it is served from the ES module too, so CommonJS project files share it as well.
      return args.kind === 'require-call' ? { path: url, namespace: 'filefield-itself' } : { path: url, external: true };
    });
    build.onLoad({ filter: /.*/, namespace: 'filefield-itself' }, (args) => ({ contents: `export * from ${JSON.stringify(args.path)};` }));
    build.onResolve({ filter: /.*/, namespace: 'filefield-itself' }, (args) => ({ path: args.path, external: true }));
    // A project file inside this package (the example project, the tests' models) may import filefield's
    // own modules by path: those stay imports of the running modules, never a second, bundled copy.
    build.onResolve({ filter: /^\.\.?\// }, async (args) => {
      if (args.pluginData === OWN_MODULE_CHECK) return undefined;
      const found = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: OWN_MODULE_CHECK });
      const running = found.errors.length > 0 ? null : runningCopyOf(found.path);
      return running === null ? undefined : { path: pathToFileURL(running).href, external: true };
    });
  },
};

const OWN_MODULE_CHECK = Symbol('own-module-check');
const OWN_SOURCES = fileURLToPath(new URL('src/', OWN_ROOT));
const OWN_BUILD = fileURLToPath(new URL('dist/', OWN_ROOT));

/** For a file of filefield's sources or build, the same module in the copy that is running; else null. */
function runningCopyOf(file: string): string | null {
  const inSources = file.startsWith(OWN_SOURCES);
  if (!inSources && !file.startsWith(OWN_BUILD)) return null;
  const module = file.slice((inSources ? OWN_SOURCES : OWN_BUILD).length).replace(/\.[jt]s$/, '');
  return RUNNING_FROM_SOURCES ? `${OWN_SOURCES}${module}.ts` : `${OWN_BUILD}${module}.js`;
};

/**
 * Inside a bundle every module would see the bundle's `import.meta.url`; each project file gets its own
 * instead, declared on its first line so that line numbers stay those of the source.
 */
const ownLocations: Plugin = {
  name: 'own-locations',
  setup(build) {
    build.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => {
      const source = readFileSync(args.path, 'utf8');
      if (!/import\.meta|__dirname|__filename/.test(source)) return undefined;
      const values = `var __ff_url = ${JSON.stringify(pathToFileURL(args.path).href)}, __ff_filename = ${JSON.stringify(args.path)}, `
        + `__ff_dirname = ${JSON.stringify(dirname(args.path))};`;
      return { contents: values + source, loader: loaderFor(args.path) };
    });
  },
};

function loaderFor(file: string): 'ts' | 'tsx' | 'js' | 'jsx' {
  if (file.endsWith('.tsx')) return 'tsx';
  if (/\.[cm]?ts$/.test(file)) return 'ts';
  return file.endsWith('.jsx') ? 'jsx' : 'js';
}

/**
 * Where Node should find a package a bundle imports, when the bundle cannot sit beside its source
 * (a read-only folder): esbuild resolves it from the source's folder, as Node would have.
 */
const packagesResolvedHere: Plugin = {
  name: 'packages-resolved-here',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === 'resolving' || args.path.startsWith('node:') || /^filefield(\/|$)/.test(args.path)) return undefined;
      if (isBuiltin(args.path)) return { path: args.path, external: true };
      const found = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: 'resolving' });
      if (found.errors.length > 0) return { errors: found.errors };
      return { path: args.kind === 'require-call' ? found.path : pathToFileURL(found.path).href, external: true };
    });
  },
};

function loadEsbuild(): Esbuild {
  esbuild ??= createRequire(import.meta.url)('esbuild') as Esbuild;
  return esbuild;
}

function isBuildFailure(error: unknown): error is BuildFailure {
  return typeof error === 'object' && error !== null && Array.isArray((error as BuildFailure).errors);
}

/** A SyntaxError that starts with `file:line:column`, as compilers and editors print locations. */
function syntaxErrorOf(failure: BuildFailure, workingDirectory: string): SyntaxError {
  const [first, ...others] = failure.errors;
  const where = first?.location ? `${resolve(workingDirectory, first.location.file)}:${first.location.line}:${first.location.column + 1}: ` : '';
  const more = others.length ? ` (and ${others.length} more error${others.length > 1 ? 's' : ''})` : '';
  return new SyntaxError(`${where}${first?.text ?? failure.message}${more}`, { cause: failure });
}

interface Bundle {
  code: string;
  /** The project files in it (absolute paths). */
  sources: string[];
}

async function bundle(file: string, resolvePackagesHere: boolean): Promise<Bundle> {
  try {
    const result = await loadEsbuild().build({
      entryPoints: [file],
      absWorkingDir: dirname(file),
      bundle: true,
      write: false,
      platform: 'node',
      format: 'esm',
      target: `node${process.versions.node}`,
      // Bare imports stay imports, resolved by Node beside the source, or here by the plugin below.
      packages: resolvePackagesHere ? undefined : 'external',
      sourcemap: 'inline',
      sourcesContent: false,
      logLevel: 'silent',
      metafile: true,
      define: { 'import.meta.url': '__ff_url', 'import.meta.filename': '__ff_filename', 'import.meta.dirname': '__ff_dirname', __filename: '__ff_filename', __dirname: '__ff_dirname' },
      plugins: [filefieldItself, ownLocations, ...(resolvePackagesHere ? [packagesResolvedHere] : [])],
    });
    const code = result.outputFiles[0]!.text;
    const sources = Object.keys(result.metafile.inputs).filter((input) => !input.includes(':')).map((input) => resolve(dirname(file), input));
    // CommonJS project files call require(); an ES module has none of its own.
    return {
      code: code.includes('__require(')
        ? `import { createRequire as __ff_createRequire } from 'node:module'; const require = __ff_createRequire(${JSON.stringify(pathToFileURL(file).href)});\n${code}`
        : code,
      sources,
    };
  } catch (error) {
    if (isBuildFailure(error)) throw syntaxErrorOf(error, dirname(file));
    throw error;
  }
}

let sourceMapsEnabled = false;

/**
 * Where in the project's sources an error thrown while they ran comes from: the first frame of its stack
 * (mapped back to the sources) that is one of them.
 */
function sourceLocationOf(error: Error, sources: string[]): string | undefined {
  for (const frame of (error.stack ?? '').split('\n').slice(1)) {
    const location = /\(?((?:file:\/\/)?\/[^():]+):(\d+):(\d+)\)?\s*$/.exec(frame);
    if (!location) continue;
    const path = location[1]!.startsWith('file://') ? fileURLToPath(location[1]!) : location[1]!;
    if (sources.includes(path)) return `${path}:${location[2]}:${location[3]}`;
  }
  return undefined;
}

/** Imports the bundle written at `target`, then removes it (the import keeps what it needs). */
async function importWrittenBundle(target: string, sources: string[]): Promise<ModuleNamespace> {
  try {
    // Errors in project code then point at the source's lines, not the bundle's.
    if (!sourceMapsEnabled) {
      process.setSourceMapsEnabled(true);
      sourceMapsEnabled = true;
    }
    return (await import(pathToFileURL(target).href)) as ModuleNamespace;
  } catch (error) {
    // The error stays the project's own (its class, its stack); its message also says where it happened.
    const where = error instanceof Error ? sourceLocationOf(error, sources) : undefined;
    if (where && error instanceof Error && !error.message.includes(where)) error.message = `${error.message} (at ${where})`;
    throw error;
  } finally {
    await unlink(target).catch(() => undefined);
  }
}

/** The names bundleName() gives, as a .gitignore pattern (a killed process may leave one behind). */
export const BUNDLE_NAME_PATTERN = '.*.filefield-*.mjs';

function bundleName(file: string): string {
  return `.${basename(file)}.filefield-${process.pid}-${randomBytes(4).toString('hex')}.mjs`;
}

/**
 * For a folder we may not write to (a global install's example project): the bundle goes to a temporary
 * folder, with its packages resolved to their files from the source's folder.
 */
async function importFromTemporaryFolder(file: string): Promise<ModuleNamespace> {
  const folder = await mkdtemp(join(tmpdir(), 'filefield-modules-'));
  try {
    const target = join(folder, bundleName(file));
    const { code, sources } = await bundle(file, true);
    await writeFile(target, code, { flag: 'wx' });
    return await importWrittenBundle(target, sources);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

async function importProjectFile(file: string): Promise<ModuleNamespace> {
  const { code, sources } = await bundle(file, false);
  const beside = join(dirname(file), bundleName(file));
  try {
    // 'wx': never over anything already there.
    await writeFile(beside, code, { flag: 'wx' });
  } catch (error) {
    if (!isUnwritableFolder(error)) throw error;
    return importFromTemporaryFolder(file);
  }
  return importWrittenBundle(beside, sources);
}
