/**
 * What the shell preloads: the project's models (every Model subclass exported by a module of
 * settings.MODELS), the file classes, the storages, the settings, and node:fs / node:path, each with a
 * line of help for the banner and `.ls`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { SAMPLE_IMAGE_FILE, importModule } from '../conf/load.ts';
import { settings } from '../conf/settings.ts';
import { ContentFile, File } from '../files/File.ts';
import { ImageFile } from '../files/ImageFile.ts';
import { isModelClass, type Model } from '../models/Model.ts';
import { defaultStorage, storages } from '../storage/handler.ts';

export type GroupName = 'models' | 'files' | 'storage' | 'settings' | 'server' | 'node';

export interface Preload {
  name: string;
  value: unknown;
  /** One line: what it is and how it is used. */
  help: string;
}

export interface PreloadGroup {
  name: GroupName;
  entries: Preload[];
}

export interface Preloads {
  groups: PreloadGroup[];
  /** Things the user should know: a name that two modules export, a module that failed to import. */
  notices: string[];
}

export const NOTHING_PRELOADED: Preloads = { groups: [], notices: [] };

type ModelClass = typeof Model;


/** A short, stable key for a models module: its path from the project (or the settings file), no extension. */
export function moduleLabel(modulePath: string, roots: string[]): string {
  if (!path.isAbsolute(modulePath)) return modulePath;
  for (const root of roots) {
    const relative = path.relative(root, modulePath);
    if (relative && !relative.startsWith('..') && !path.isAbsolute(relative)) {
      return relative.split(path.sep).join('/').replace(/\.[cm]?[jt]s$/, '');
    }
  }
  return modulePath;
}

function describeModel(model: ModelClass, label: string): string {
  const fields = Object.keys(model.fields);
  const fieldList = fields.length ? `fields ${fields.join(', ')}` : 'no fields';
  return `model from ${label} (${fieldList}): new ${model.name}({ … }), ${model.name}.objects.all() / get(id) / last()`;
}

function describeDefaultStorage(): string {
  try {
    return `the default storage, ${inspect(storages.get('default'))}: storage.save(name, file), storage.url(name)`;
  } catch (error) {
    return `the default storage (not usable: ${(error as Error).message})`;
  }
}

interface ImportedModels {
  /** Every model class, by module label then export name. */
  byModule: Record<string, Record<string, ModelClass>>;
  entries: Preload[];
  notices: string[];
}

async function importModels(roots: string[]): Promise<ImportedModels> {
  const byModule: Record<string, Record<string, ModelClass>> = {};
  const entries: Preload[] = [];
  const notices: string[] = [];
  const firstLabelOf = new Map<string, string>();
  for (const modulePath of settings.MODELS) {
    const label = moduleLabel(modulePath, roots);
    let exported: Record<string, unknown>;
    try {
      exported = await importModule(modulePath);
    } catch (error) {
      notices.push(`Could not import ${label} (MODELS): ${(error as Error).message}`);
      continue;
    }
    const models: Record<string, ModelClass> = {};
    for (const [name, value] of Object.entries(exported)) {
      if (name === 'default' || !isModelClass(value)) continue;
      models[name] = value;
      const earlier = firstLabelOf.get(name);
      if (earlier === undefined) {
        firstLabelOf.set(name, label);
        entries.push({ name, value, help: describeModel(value, label) });
      } else {
        // The first module listed in MODELS wins, as the order there is the project's own.
        notices.push(`${name}: both ${earlier} and ${label} export one; ${name} is ${earlier}'s, `
          + `the other is models[${JSON.stringify(label)}].${name}`);
      }
    }
    byModule[label] = models;
  }
  return { byModule, entries, notices };
}

/** `filefield serve` from the prompt; the server's modules load only when it is asked for. */
async function serveInBackground(options?: { port?: number; host?: string }): Promise<{ url: string; close(): Promise<void> }> {
  const { serve } = await import('../server/index.ts');
  return serve(options);
}

/** The stored files no row references (what `filefield cleanup --dry-run` lists); loads the clean-up code on first use. */
async function orphans(options: { storage?: string; olderThan?: string } = {}): Promise<Array<{ alias: string; name: string; size: number; modifiedTime: Date }>> {
  const [{ removeOrphans, parseGracePeriod }, { discoverModels }] = await Promise.all([import('../models/cleanup.ts'), import('../server/models.ts')]);
  const olderThanMs = options.olderThan === undefined ? undefined : parseGracePeriod(options.olderThan);
  // Every model of MODELS counts, also those the session has not used yet.
  return removeOrphans({ storage: options.storage, olderThanMs, dryRun: true, models: await discoverModels() });
}

/** Imports the models and gathers every preload; settings must be loaded (and sandboxed) first. */
export async function collectPreloads(options: { settingsFile: string }): Promise<Preloads> {
  const roots = [settings.BASE_DIR, path.dirname(options.settingsFile)];
  const models = await importModels(roots);
  const builtIns: PreloadGroup[] = [
    {
      name: 'files',
      entries: [
        { name: 'File', value: File, help: 'new File(fd | FileHandle | stream | Blob, name?): bytes to save; File.open(path)' },
        { name: 'ContentFile', value: ContentFile, help: "new ContentFile('text' | bytes, name?): content held in memory" },
        { name: 'ImageFile', value: ImageFile, help: 'a File that reads its width and height: await ImageFile.open(path)' },
        { name: 'sampleImage', value: SAMPLE_IMAGE_FILE, help: "the path of filefield's sample image (a 64×48 PNG): fs.openSync(sampleImage)" },
      ],
    },
    {
      name: 'storage',
      entries: [
        { name: 'storage', value: defaultStorage, help: describeDefaultStorage() },
        { name: 'storages', value: storages, help: `storages.get(alias), for each of settings.STORAGES (${storages.aliases().join(', ')})` },
        { name: 'orphans', value: orphans, help: "await orphans({ storage?, olderThan: '1h' }): stored files that no row references (filefield cleanup removes them)" },
      ],
    },
    {
      name: 'settings',
      entries: [
        { name: 'settings', value: settings, help: `the active settings: settings.MEDIA_ROOT (${settings.MEDIA_ROOT}), settings.MEDIA_URL, …` },
      ],
    },
    {
      name: 'server',
      entries: [
        { name: 'serve', value: serveInBackground, help: 'serve({ port? }): the media files and the upload page, in the background; prints the address' },
      ],
    },
    {
      name: 'node',
      entries: [
        { name: 'fs', value: fs, help: 'node:fs: fs.openSync(sampleImage), await fs.promises.open(…)' },
        { name: 'path', value: path, help: 'node:path: path.join(settings.MEDIA_ROOT, …)' },
      ],
    },
  ];
  const builtInNames = new Set(builtIns.flatMap((group) => group.entries.map((entry) => entry.name)));
  builtInNames.add('models');
  const modelEntries: Preload[] = [];
  for (const entry of models.entries) {
    if (builtInNames.has(entry.name)) {
      // The library's names win: the documented workflow (`new File(f)`) must keep working.
      const label = Object.keys(models.byModule).find((key) => models.byModule[key]![entry.name] === entry.value)!;
      models.notices.push(`${entry.name}: the model of ${label} is models[${JSON.stringify(label)}].${entry.name}, `
        + `as ${entry.name} is filefield's own`);
    } else {
      modelEntries.push(entry);
    }
  }
  if (Object.keys(models.byModule).length > 0) {
    const labels = Object.keys(models.byModule).map((label) => JSON.stringify(label)).join(', ');
    modelEntries.push({ name: 'models', value: models.byModule, help: `every model by module: models[${labels}]` });
  }
  return { groups: [{ name: 'models', entries: modelEntries }, ...builtIns], notices: models.notices };
}

/** Puts the preloads on the REPL's global object, reassignable like any global. */
export function installPreloads(target: object, preloads: Preloads): void {
  for (const group of preloads.groups) {
    for (const { name, value } of group.entries) {
      Object.defineProperty(target, name, { value, writable: true, configurable: true, enumerable: false });
    }
  }
}
