/**
 * Names of the temporary files that saves write before publishing under the final name. They start with a
 * dot and a fixed prefix (so listings hide them) and carry the writer's process id, so that the ones a
 * killed process left behind can be told from saves still under way and removed.
 */
import { randomString } from './random.ts';
import { processIsAlive } from '../db/lock.ts';

export const TEMPORARY_PREFIX = '.filefield-tmp-';

/** Older names without a process id are only taken for abandoned once they are this old. */
const UNATTRIBUTED_AGE_MS = 24 * 60 * 60 * 1000;

export function temporaryName(): string {
  return `${TEMPORARY_PREFIX}${process.pid}-${randomString(16)}`;
}

export function isTemporaryName(name: string): boolean {
  return name.startsWith(TEMPORARY_PREFIX);
}

/** Whether a temporary file was left by a save that can no longer finish (its process is gone). */
export function isAbandoned(name: string, modified: Date, now = Date.now()): boolean {
  const writer = /^(\d+)-/.exec(name.slice(TEMPORARY_PREFIX.length));
  if (writer) return Number(writer[1]) !== process.pid && !processIsAlive(Number(writer[1]));
  return now - modified.getTime() > UNATTRIBUTED_AGE_MS;
}
