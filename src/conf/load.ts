/**
 * Finding and loading a project's settings: `--settings`, FILEFIELD_SETTINGS, filefield.config.* in the
 * working directory, or the bundled example project.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ImproperlyConfigured } from '../errors.ts';
import { storages } from '../storage/handler.ts';
import { importModule } from './modules.ts';

export { importModule };
import { activateSettings, currentSettings, isConfigured, normalizeSettings, type Settings, type SettingsInput } from './settings.ts';

export const CONFIG_FILE_NAMES = ['filefield.config.ts', 'filefield.config.mts', 'filefield.config.js', 'filefield.config.mjs'];
export const EXAMPLE_SETTINGS_FILE = fileURLToPath(new URL('../../example/filefield.config.ts', import.meta.url));
/** The sample image shipped with the package (in a user's project: node_modules/filefield/fixtures/image.png). */
export const SAMPLE_IMAGE_FILE = fileURLToPath(new URL('../../fixtures/image.png', import.meta.url));

/**
 * Applies settings given in code. Plain values take effect at once; the returned promise also waits for
 * backends named by module (`s3`, `./custom.ts#Custom`) to be imported, so await it before using them.
 */
export function configure(values: SettingsInput, options: { baseDir?: string } = {}): Promise<Settings> {
  const previous = isConfigured() ? currentSettings() : null;
  const next = activateSettings(normalizeSettings(values, { baseDir: resolve(options.baseDir ?? process.cwd()), settingsFile: null }));
  return storages.load(next.STORAGES).then(
    () => next,
    (error: unknown) => {
      // A backend that cannot be loaded must not stay configured: go back to what worked.
      if (previous) activateSettings(previous);
      throw error;
    },
  );
}

export interface LoadOptions {
  /** A settings file (`--settings`); else FILEFIELD_SETTINGS, else filefield.config.* in `cwd`, else the example. */
  file?: string;
  cwd?: string;
}

/** Which settings file applies, and why (for the shell's banner). */
export function findSettingsFile(options: LoadOptions = {}): { file: string; source: 'option' | 'environment' | 'project' | 'example' } {
  const cwd = resolve(options.cwd ?? process.cwd());
  if (options.file) return { file: resolve(cwd, options.file), source: 'option' };
  const fromEnvironment = process.env.FILEFIELD_SETTINGS;
  if (fromEnvironment) return { file: resolve(cwd, fromEnvironment), source: 'environment' };
  for (const name of CONFIG_FILE_NAMES) {
    const candidate = resolve(cwd, name);
    if (existsSync(candidate)) return { file: candidate, source: 'project' };
  }
  return { file: EXAMPLE_SETTINGS_FILE, source: 'example' };
}

function settingsValuesOf(module: Record<string, unknown>, file: string): SettingsInput {
  const exported = module.default;
  if (exported !== undefined) {
    if (typeof exported !== 'object' || exported === null) {
      throw new ImproperlyConfigured(`${file} must export its settings object as default (export default defineSettings({ … })).`);
    }
    return exported as SettingsInput;
  }
  // Django's style: the module's upper-case names are the settings.
  return Object.fromEntries(Object.entries(module).filter(([key]) => /^[A-Z][A-Z0-9_]*$/.test(key)));
}

/** Loads and applies the project's settings; relative paths in it are relative to its folder (or BASE_DIR). */
export async function loadSettings(options: LoadOptions = {}): Promise<Settings> {
  const { file } = findSettingsFile(options);
  if (!existsSync(file)) throw new ImproperlyConfigured(`The settings file ${file} does not exist.`);
  let module: Record<string, unknown>;
  try {
    module = await importModule(file);
  } catch (error) {
    if (error instanceof ImproperlyConfigured) throw error;
    throw new ImproperlyConfigured(`The settings file ${file} could not be loaded: ${(error as Error).message}`, { cause: error });
  }
  const next = normalizeSettings(settingsValuesOf(module, file), { baseDir: dirname(file), settingsFile: file });
  await storages.load(next.STORAGES);
  return activateSettings(next);
}
