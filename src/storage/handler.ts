/**
 * storages: one Storage instance per alias of settings.STORAGES, and defaultStorage, which always
 * stands for storages.get('default') under the current settings.
 */
import { importModule } from '../conf/modules.ts';
import { settings, onSettingsChange, type StorageConfig } from '../conf/settings.ts';
import { InvalidStorageError } from '../errors.ts';
import { Storage, type StorageClass } from './Storage.ts';
import { backendNamed } from './registry.ts';

/** Classes imported (registered ones by name, others by module specifier); kept across settings changes. */
const importedBackends = new Map<string, StorageClass>();

async function importBackend(backend: string): Promise<StorageClass> {
  const cached = importedBackends.get(backend);
  if (cached) return cached;
  const registered = backendNamed(backend);
  if (registered) {
    const { factory } = registered;
    const loaded = factory.prototype instanceof Storage ? (factory as StorageClass) : await (factory as () => Promise<StorageClass>)();
    importedBackends.set(backend, loaded);
    return loaded;
  }
  const specifier = backend;
  const hash = specifier.lastIndexOf('#');
  const modulePath = specifier.slice(0, hash);
  const exportName = specifier.slice(hash + 1);
  let module: Record<string, unknown>;
  try {
    module = await importModule(modulePath);
  } catch (error) {
    throw new InvalidStorageError(`Could not find backend '${backend}': ${(error as Error).message}`, { cause: error });
  }
  const exported = module[exportName];
  if (typeof exported === 'function' && !(exported.prototype instanceof Storage) && extendsAnotherStorage(exported)) {
    throw new InvalidStorageError(
      `Could not find backend '${backend}': its class extends a Storage from another copy of filefield, `
        + `which happens when "${modulePath}" is loaded as CommonJS (a .ts file in a folder whose package.json has no `
        + `"type": "module"). Add "type": "module" to that package.json, or name the file .mts.`,
    );
  }
  if (typeof exported !== 'function' || !(exported.prototype instanceof Storage)) {
    throw new InvalidStorageError(
      `Could not find backend '${backend}': module "${modulePath}" does not export a Storage class named "${exportName}".`,
    );
  }
  importedBackends.set(backend, exported as StorageClass);
  return exported as StorageClass;
}

/** Whether a class descends from a class named Storage that is not ours (a second copy of this package). */
function extendsAnotherStorage(value: Function): boolean {
  for (let parent = Object.getPrototypeOf(value); typeof parent === 'function'; parent = Object.getPrototypeOf(parent)) {
    if (parent.name === 'Storage' && parent !== Storage) return true;
  }
  return false;
}

export class StorageHandler {
  private readonly instances = new Map<string, Storage>();

  constructor(private readonly explicitBackends?: Record<string, StorageConfig>) {}

  get backends(): Readonly<Record<string, StorageConfig>> {
    return this.explicitBackends ?? settings.STORAGES;
  }

  /** The storage of an alias; the same instance every time until settings change. */
  get(alias = 'default'): Storage {
    const existing = this.instances.get(alias);
    if (existing) return existing;
    const config = this.backends[alias];
    if (!config) throw new InvalidStorageError(`Could not find config for '${alias}' in settings.STORAGES.`);
    const StorageBackend = this.backendClass(alias, config.BACKEND);
    const storage = new StorageBackend({ ...config.OPTIONS });
    storage.alias = alias;
    this.instances.set(alias, storage);
    return storage;
  }

  /** Imports every backend that lives in a module, so that get() can stay synchronous. */
  async load(backends: Readonly<Record<string, StorageConfig>> = this.backends): Promise<void> {
    for (const { BACKEND } of Object.values(backends)) {
      if (typeof BACKEND === 'string') await importBackend(BACKEND);
    }
  }

  /** The configured aliases. */
  aliases(): string[] {
    return Object.keys(this.backends);
  }

  reset(): void {
    this.instances.clear();
  }

  private backendClass(alias: string, backend: string | StorageClass): StorageClass {
    if (typeof backend === 'function') return backend;
    const registered = backendNamed(backend)?.factory;
    if (registered?.prototype instanceof Storage) return registered as StorageClass;
    const imported = importedBackends.get(backend);
    if (imported) return imported;
    throw new InvalidStorageError(
      `The backend '${backend}' of STORAGES.${alias} is not loaded yet: settings that name a module must be applied with `
        + '`await configure(…)` or `await loadSettings()` before the storage is used.',
    );
  }
}

export const storages = new StorageHandler();
onSettingsChange(() => storages.reset());

/** Stands for storages.get('default') at the moment of each use (Django's default_storage LazyObject). */
export const defaultStorage: Storage = new Proxy(Object.create(Storage.prototype) as Storage, {
  get(_target, key) {
    const storage = storages.get('default');
    const value = Reflect.get(storage, key, storage);
    // Methods are bound to the real storage; the class is not (it would read `bound FileSystemStorage`).
    return typeof value === 'function' && key !== 'constructor' ? value.bind(storage) : value;
  },
  has: (_target, key) => Reflect.has(storages.get('default'), key),
  getPrototypeOf: () => Object.getPrototypeOf(storages.get('default')),
  set(_target, key, value) {
    return Reflect.set(storages.get('default'), key, value);
  },
});
