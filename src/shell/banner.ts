/**
 * What the shell says when it opens (a few lines: where the settings came from, what is preloaded) and
 * what `.ls` prints (the same names, one line of help each).
 */
import type { Preloads } from './context.ts';

export type SettingsSource = 'option' | 'environment' | 'project' | 'example';

export interface SessionFacts {
  settingsFile: string;
  settingsSource: SettingsSource;
  /** The sandbox's folder, when every write goes to throwaway copies. */
  sandboxDirectory?: string;
  sandboxNotices?: string[];
  imports: boolean;
}

function describeSettings({ settingsFile, settingsSource }: SessionFacts): string {
  switch (settingsSource) {
    case 'option':
      return `${settingsFile} (--settings)`;
    case 'environment':
      return `${settingsFile} (FILEFIELD_SETTINGS)`;
    case 'project':
      return settingsFile;
    case 'example':
      return 'the bundled example project (no filefield.config.* here; media and db.json go in this folder)';
  }
}

export function formatBanner(facts: SessionFacts, preloads: Preloads): string {
  const lines = [`filefield shell, settings: ${describeSettings(facts)}`];
  if (facts.sandboxDirectory) {
    lines.push(`Sandbox: writes go to copies of the media and the database in ${facts.sandboxDirectory}, deleted on exit.`);
    for (const notice of facts.sandboxNotices ?? []) lines.push(`  ${notice}`);
  }
  if (!facts.imports) {
    lines.push('Nothing preloaded (--no-imports).');
  } else {
    const width = Math.max(...preloads.groups.map((group) => group.name.length));
    for (const group of preloads.groups) {
      const names = group.entries.map((entry) => entry.name).join(', ') || '(none)';
      lines.push(`  ${group.name.padEnd(width)}  ${names}`);
    }
    for (const notice of preloads.notices) lines.push(`  note: ${notice}`);
  }
  lines.push('Promises are awaited for you, TypeScript is accepted. .ls explains each name; .help lists commands.');
  return lines.join('\n') + '\n';
}

export function formatListing(preloads: Preloads): string {
  if (preloads.groups.length === 0) return 'Nothing preloaded (--no-imports).\n';
  const width = Math.max(...preloads.groups.flatMap((group) => group.entries.map((entry) => entry.name.length)));
  const lines: string[] = [];
  for (const group of preloads.groups) {
    lines.push(group.name);
    if (group.entries.length === 0) lines.push('  (none: settings.MODELS lists no module with a Model subclass)');
    for (const entry of group.entries) lines.push(`  ${entry.name.padEnd(width)}  ${entry.help}`);
  }
  for (const notice of preloads.notices) lines.push(`note: ${notice}`);
  lines.push('Also: _ (the last result), _error (the last error), await, and TypeScript syntax.');
  return lines.join('\n') + '\n';
}
