/**
 * The database engine of the current settings, opened on first use and reopened when DATABASES changes.
 */
import { settings, onSettingsChange } from '../conf/settings.ts';
import { openEngine, type DatabaseEngine, type OpenOptions } from '../db/engine.ts';

let current: { key: string; engine: Promise<DatabaseEngine> } | null = null;
let openOptions: OpenOptions = {};

const keyOfSettings = (): string => JSON.stringify([settings.DATABASES.default, openOptions]);

function retire(): void {
  const previous = current;
  current = null;
  void previous?.engine.then((engine) => engine.close(), () => undefined).catch(() => undefined);
}

onSettingsChange(() => {
  if (current && current.key !== keyOfSettings()) retire();
});

/** The engine of settings.DATABASES.default (the same one until that setting changes). */
export function activeDatabase(): Promise<DatabaseEngine> {
  if (!current) {
    const key = keyOfSettings();
    const engine = openEngine(settings.DATABASES.default, openOptions);
    current = { key, engine };
    // A database that cannot be opened now may be later (a server started meanwhile): do not keep the failure.
    engine.catch(() => {
      if (current?.engine === engine) current = null;
    });
  }
  return current.engine;
}

/** How the engine is opened from now on (`shell --sandbox`: every change rolled back at close). */
export function setDatabaseOptions(options: OpenOptions): void {
  openOptions = options;
  if (current && current.key !== keyOfSettings()) retire();
}

/** Closes the engine (rolling a sandbox back); the next use opens it again. */
export async function closeActiveDatabase(): Promise<void> {
  const previous = current;
  current = null;
  if (previous) await (await previous.engine).close();
}
