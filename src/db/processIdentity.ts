/**
 * Who holds something, told apart from whoever has the same pid later. A pid alone is not enough: pids are
 * reused, and a container restarted on the same boot gets the same pid 1 again. On Linux the kernel gives
 * each process a start time (clock ticks since boot, field 22 of /proc/<pid>/stat) and each boot an id, so
 * pid + start time + boot id names one process for ever; elsewhere only the pid is known.
 */
import { readFile } from 'node:fs/promises';
import { errorCode } from '../errors.ts';

export interface ProcessIdentity {
  pid: number;
  /** Clock ticks after boot at which the process started (Linux). */
  start?: string;
  /** /proc/sys/kernel/random/boot_id (Linux). */
  boot?: string;
}

export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
}

async function startTimeOf(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (the command, in parentheses) may hold spaces and parentheses: count from the last ')'.
    // What follows it starts at field 3, so field 22 is the 20th.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

let bootId: Promise<string | undefined> | undefined;

function currentBootId(): Promise<string | undefined> {
  bootId ??= readFile('/proc/sys/kernel/random/boot_id', 'utf8').then((text) => text.trim() || undefined, () => undefined);
  return bootId;
}

let own: Promise<ProcessIdentity> | undefined;

/** This process's identity. */
export function ownIdentity(): Promise<ProcessIdentity> {
  own ??= (async () => {
    const [start, boot] = await Promise.all([startTimeOf(process.pid), currentBootId()]);
    return { pid: process.pid, ...(start && { start }), ...(boot && { boot }) };
  })();
  return own;
}

/**
 * Whether the process an identity names is still running: 'unknown' when only a pid was recorded and a
 * process has it (the caller decides, by age, whether that can still be the holder).
 */
export async function identityIsAlive(identity: ProcessIdentity): Promise<'alive' | 'dead' | 'unknown'> {
  if (!processIsAlive(identity.pid)) return 'dead';
  if (identity.boot !== undefined) {
    const boot = await currentBootId();
    // Compared without dashes: log names keep the id in that shorter form.
    if (boot !== undefined && boot.replaceAll('-', '') !== identity.boot.replaceAll('-', '')) return 'dead';
  }
  if (identity.start === undefined) return 'unknown';
  const start = await startTimeOf(identity.pid);
  if (start === undefined) return processIsAlive(identity.pid) ? 'unknown' : 'dead';
  return start === identity.start ? 'alive' : 'dead';
}

/** The identity written in a file: JSON from this code, or a bare pid from older versions. */
export function parseIdentity(text: string): ProcessIdentity | null {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return { pid: Number(trimmed) };
  try {
    const parsed = JSON.parse(trimmed) as Partial<ProcessIdentity>;
    if (!Number.isSafeInteger(parsed.pid) || parsed.pid! <= 0) return null;
    return {
      pid: parsed.pid!,
      ...(typeof parsed.start === 'string' && { start: parsed.start }),
      ...(typeof parsed.boot === 'string' && { boot: parsed.boot }),
    };
  } catch {
    return null;
  }
}
