/**
 * `.reload` and `.reset` at the prompt. `.reload` imports the settings file and the models again after an
 * edit (new instances use the new classes; those made earlier keep theirs) and says which names changed;
 * `.reset`, in a sandbox, throws its copies away and starts again from fresh copies of the project.
 */
import { isAbsolute } from 'node:path';
import { readSettings } from '../conf/load.ts';
import { importFreshModule } from '../conf/modules.ts';
import { activateSettings, settings } from '../conf/settings.ts';
import { NOTHING_PRELOADED, collectPreloads, installPreloads, type Preloads } from './context.ts';
import type { Sandbox } from './sandbox.ts';

/** What the prompt's session holds that `.reload` and `.reset` replace. */
export interface SessionState {
  settingsFile: string;
  imports: boolean;
  preloads: Preloads;
  sandbox?: Sandbox;
}

/**
 * Imports new versions of the settings file and the models' modules, and applies them; in a sandbox,
 * pointed at its copies (the project's own paths are never in force).
 */
async function importProjectAgain(state: SessionState): Promise<Preloads> {
  await importFreshModule(state.settingsFile);
  const project = await readSettings({ file: state.settingsFile });
  if (state.sandbox) await state.sandbox.reapply(project);
  else activateSettings(project);
  for (const modulePath of settings.MODELS) if (isAbsolute(modulePath)) await importFreshModule(modulePath);
  return state.imports ? collectPreloads({ settingsFile: state.settingsFile }) : NOTHING_PRELOADED;
}

/** A value as text that changes when its definition does (a class's source, a setting's value). */
function fingerprint(value: unknown): string {
  if (typeof value === 'function') {
    const fields = (value as { fields?: Record<string, unknown> }).fields;
    const shape = fields ? Object.entries(fields).map(([name, field]) => `${name}:${(field as object).constructor.name}`).join(',') : '';
    return `${Function.prototype.toString.call(value)}|${shape}`;
  }
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'function' ? String(item) : item)) ?? String(value);
}

function namedValues(preloads: Preloads, groups: string[]): Map<string, unknown> {
  return new Map(preloads.groups.filter((group) => groups.includes(group.name)).flatMap((group) => group.entries.map((entry) => [entry.name, entry.value] as const)));
}

function changes(before: Map<string, string>, after: Map<string, string>): string[] {
  const described: string[] = [];
  for (const [name, print] of after) {
    if (!before.has(name)) described.push(`${name} added`);
    else if (before.get(name) !== print) described.push(`${name} changed`);
  }
  for (const name of before.keys()) if (!after.has(name)) described.push(`${name} removed`);
  return described;
}

function fingerprints(values: Map<string, unknown> | Record<string, unknown>): Map<string, string> {
  const entries = values instanceof Map ? [...values] : Object.entries(values);
  return new Map(entries.map(([name, value]) => [name, fingerprint(value)]));
}

const RELOADED_GROUPS = ['models', 'imports'];

/** `.reload`: resolves to the sentence that says what changed. */
export async function reloadProject(state: SessionState): Promise<string> {
  const modelsBefore = fingerprints(namedValues(state.preloads, RELOADED_GROUPS));
  modelsBefore.delete('models');
  const settingsBefore = fingerprints({ ...settings });
  const preloads = await importProjectAgain(state);
  for (const name of namedValues(state.preloads, RELOADED_GROUPS).keys()) {
    if (!namedValues(preloads, RELOADED_GROUPS).has(name)) delete (globalThis as Record<string, unknown>)[name];
  }
  installPreloads(globalThis, preloads);
  state.preloads = preloads;
  const modelsAfter = fingerprints(namedValues(preloads, RELOADED_GROUPS));
  modelsAfter.delete('models');
  const named = changes(modelsBefore, modelsAfter);
  const settingChanges = changes(settingsBefore, fingerprints({ ...settings }));
  const parts: string[] = [];
  if (named.length) parts.push(named.join(', '));
  if (settingChanges.length) parts.push(`settings: ${settingChanges.join(', ')}`);
  const notices = preloads.notices.map((notice) => `\n  note: ${notice}`).join('');
  // A change in a helper module shows in no class's source: say what was compared, not that nothing changed.
  if (parts.length === 0) return `Reloaded; the models and settings read as before.${notices}`;
  return `Reloaded: ${parts.join('; ')}. New instances use the new classes; those made before keep theirs.${notices}`;
}

/** `.reset`: only in a sandbox, where it discards every file and row written since it began. */
export async function resetSandbox(state: SessionState): Promise<string> {
  if (!state.sandbox) {
    throw new Error("works in a sandbox only (filefield shell --sandbox): here it would delete the project's own files and rows.");
  }
  const { enterSandbox } = await import('./sandbox.ts');
  const previous = state.sandbox;
  const project = await readSettings({ file: state.settingsFile });
  // On a SQL engine the sandbox's rows live in a transaction: rolled back, they are gone.
  await previous.rollBack();
  try {
    // The new copies are made from the project's settings, read but never applied.
    state.sandbox = await enterSandbox({ project });
  } catch (error) {
    // The old sandbox stays in force, so that no write of the session ever reaches the project.
    await previous.reapply(project);
    throw error;
  }
  previous.dispose();
  return `Sandbox reset: the files and rows written in it are gone; it starts again from copies of the project in ${state.sandbox.directory}.`;
}
