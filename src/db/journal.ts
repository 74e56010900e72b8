/**
 * The upload journal: before a file is stored for a row, a line says so; before the storage can publish
 * it, another line gives the name chosen and the size and SHA-256 of the bytes; once the row is written (or
 * the file removed again), a last line closes it. Each process appends to a log of its own, one small write
 * per line (so a killed process leaves whole lines), made at once rather than through the thread pool: an
 * append of a line to a local file takes microseconds, and a save makes four. If a process dies before
 * closing an entry, the next save sweeps its log: the file the dead save wrote is deleted when no row refers to it, and only if the
 * bytes under its name are the ones it wrote, so a crash leaves neither a row without its file nor (after
 * the next save) an orphan, and a file that merely took the same name afterwards is never touched.
 */
import { closeSync, ftruncateSync, openSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { errorCode } from '../errors.ts';
import type { ContentDigest } from '../files/digest.ts';
import { identityIsAlive, ownIdentity, type ProcessIdentity } from './processIdentity.ts';

export interface JournalEntry {
  token: string;
  started: number;
  model: string;
  field: string;
  /** The name asked of the storage; the stored name may carry a suffix if it was taken. */
  requestedName: string;
  /** The name the storage chose and the bytes it was about to publish under it (the last one if several). */
  publishing?: { name: string } & ContentDigest;
  /** The name the storage returned: the file is stored. */
  storedName?: string;
}

type Line =
  | ({ op: 'begin' } & Omit<JournalEntry, 'storedName' | 'publishing'>)
  | ({ op: 'publishing'; token: string; name: string } & ContentDigest)
  | { op: 'stored'; token: string; name: string }
  | { op: 'done'; token: string };

export interface OrphanResolver {
  /** Whether some row refers to this stored name (then it is no orphan). */
  isReferenced(entry: JournalEntry, name: string): Promise<boolean>;
  /**
   * Deletes the file under `name` if it holds the bytes of `expected` (when given); false when the entry
   * cannot be settled here yet (its model is unknown here, or a live save uses the name): keep it for later.
   */
  deleteOrphan(entry: JournalEntry, name: string, expected: ContentDigest | undefined): Promise<boolean>;
}

const LOG_SUFFIX = '.log';

/** The entries a log leaves open: begun, never done. */
function openEntries(text: string): JournalEntry[] {
  const entries = new Map<string, JournalEntry>();
  for (const raw of text.split('\n')) {
    if (!raw) continue;
    let line: Line;
    try {
      line = JSON.parse(raw) as Line;
    } catch {
      continue;
    }
    if (line.op === 'begin') {
      const { op: _op, ...entry } = line;
      entries.set(line.token, entry);
    } else if (line.op === 'publishing') {
      const entry = entries.get(line.token);
      if (entry) entry.publishing = { name: line.name, size: line.size, sha256: line.sha256 };
    } else if (line.op === 'stored') {
      const entry = entries.get(line.token);
      if (entry) entry.storedName = line.name;
    } else {
      entries.delete(line.token);
    }
  }
  return [...entries.values()];
}

/**
 * A log's name says whose it is: `<pid>-<start time>-<boot id>-<uuid>.log` (`<pid>-<uuid>.log` where the
 * system gives no start time, and from older versions), so that a log whose pid a later process reuses is
 * still seen to be a dead process's.
 */
function logName(identity: ProcessIdentity): string {
  const owner = identity.start && identity.boot ? `${identity.pid}-${identity.start}-${identity.boot.replaceAll('-', '')}` : String(identity.pid);
  return `${owner}-${randomUUID()}${LOG_SUFFIX}`;
}

function ownerOfLog(fileName: string): ProcessIdentity {
  const full = /^(\d+)-(\d+)-([0-9a-f]{32})-[0-9a-f-]{36}\.log$/.exec(fileName);
  if (full) return { pid: Number(full[1]), start: full[2], boot: full[3] };
  return { pid: Number(fileName.split('-')[0]) };
}

/**
 * Whether the process that wrote a log may still add to it. This process's own logs are alive by the same
 * test: a log with our pid but another start time is a dead predecessor's (a container's pid 1 restarted).
 */
async function writerIsAlive(fileName: string): Promise<boolean> {
  return (await identityIsAlive(ownerOfLog(fileName))) !== 'dead';
}

/** What the exit hook removes: the log of each journal this process opened (one per DATABASE used). */
const logsToRemoveOnExit = new Map<UploadJournal, () => void>();
let exitHookInstalled = false;

/** One 'exit' listener for all journals: a listener per journal would pile up as DATABASE changes. */
function removeOnExit(journal: UploadJournal, remove: () => void): void {
  logsToRemoveOnExit.set(journal, remove);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const removeLog of logsToRemoveOnExit.values()) removeLog();
  });
}

export class UploadJournal {
  private descriptor: Promise<number> | null = null;
  /** The log's descriptor once it is open. */
  private openLog: number | null = null;
  private logFile: string | null = null;
  private outstanding = 0;
  /** Open entries whose files wait for a row a later save writes: settled, not swept, on a clean exit. */
  private readonly keptOnCleanExit = new Set<string>();

  constructor(readonly folder: string) {}

  private log(): Promise<number> {
    this.descriptor ??= (async () => {
      await mkdir(this.folder, { recursive: true });
      this.logFile = join(this.folder, logName(await ownIdentity()));
      const fd = openSync(this.logFile, 'a', 0o600);
      this.openLog = fd;
      const logFile = this.logFile;
      // A clean exit leaves nothing to sweep.
      removeOnExit(this, () => {
        try {
          if (this.outstanding > this.keptOnCleanExit.size) {
            // A save was under way: keep its entries for the sweep, settle only the kept ones.
            for (const token of this.keptOnCleanExit) writeSync(fd, JSON.stringify({ op: 'done', token }) + '\n');
            return;
          }
          closeSync(fd);
          unlinkSync(logFile);
        } catch {
          // Already gone.
        }
      });
      return fd;
    })();
    return this.descriptor;
  }

  /** One whole line (O_APPEND: one write, so a killed process never leaves half of one). */
  private async append(line: Line): Promise<void> {
    const fd = await this.log();
    writeSync(fd, JSON.stringify(line) + '\n');
  }

  async begin(model: string, field: string, requestedName: string): Promise<JournalEntry> {
    const entry: JournalEntry = { token: randomUUID(), started: Date.now(), model, field, requestedName };
    this.outstanding++;
    await this.append({ op: 'begin', ...entry });
    return entry;
  }

  /** The storage chose `name` and read these bytes; it publishes them once this is written. */
  async recordPublishing(entry: JournalEntry, name: string, digest: ContentDigest): Promise<void> {
    entry.publishing = { name, ...digest };
    await this.append({ op: 'publishing', token: entry.token, name, size: digest.size, sha256: digest.sha256 });
  }

  async recordStored(entry: JournalEntry, storedName: string): Promise<void> {
    entry.storedName = storedName;
    await this.append({ op: 'stored', token: entry.token, name: storedName });
  }

  /** See RowFiles.awaitRow(): the entry stays open, but a clean exit settles it. */
  keepOnCleanExit(entry: JournalEntry): void {
    this.keptOnCleanExit.add(entry.token);
  }

  /** The row is written (or the file removed again): the entry is closed. */
  async finish(entry: JournalEntry): Promise<void> {
    await this.append({ op: 'done', token: entry.token });
    this.keptOnCleanExit.delete(entry.token);
    this.outstanding--;
    // Keep the log short: with nothing open, its lines say nothing. A save begun meanwhile has counted
    // itself before writing its first line, and the check and the truncation happen together.
    if (this.outstanding === 0 && this.openLog !== null) ftruncateSync(this.openLog, 0);
  }

  /** Logs of processes that are gone, with the entries they left open. */
  private async abandonedLogs(): Promise<{ file: string; entries: JournalEntry[] }[]> {
    let names: string[];
    try {
      names = readdirSync(this.folder);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return [];
      throw error;
    }
    const logs: { file: string; entries: JournalEntry[] }[] = [];
    for (const name of names) {
      const file = join(this.folder, name);
      if (!name.endsWith(LOG_SUFFIX) || file === this.logFile) continue;
      if (await writerIsAlive(name)) continue;
      try {
        logs.push({ file, entries: openEntries(await readFile(file, 'utf8')) });
      } catch (error) {
        if (errorCode(error) !== 'ENOENT') throw error; // another sweeper took it
      }
    }
    return logs;
  }

  /**
   * The names that saves still in progress, in live processes (this one included), asked for or stored.
   * A dead save's entry may name one of these files (the dead save asked for the name, and got another
   * as a live save took it first): such a file is the live save's, not an orphan.
   */
  async namesInProgress(): Promise<Set<string>> {
    const names = new Set<string>();
    let files: string[];
    try {
      files = readdirSync(this.folder);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return names;
      throw error;
    }
    for (const name of files) {
      const file = join(this.folder, name);
      if (!name.endsWith(LOG_SUFFIX)) continue;
      if (file !== this.logFile && !(await writerIsAlive(name))) continue;
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        if (errorCode(error) === 'ENOENT') continue;
        throw error;
      }
      for (const entry of openEntries(text)) {
        names.add(entry.requestedName);
        if (entry.publishing !== undefined) names.add(entry.publishing.name);
        if (entry.storedName !== undefined) names.add(entry.storedName);
      }
    }
    return names;
  }

  /**
   * Deletes what dead processes stored and no row refers to, then drops their logs. An entry that never
   * reached 'publishing' left no file under any name (its bytes, if any, are in a temporary file, which the
   * storage's own clean-up removes): nothing is deleted for it, whatever now carries the name it asked for.
   */
  async sweep(resolver: OrphanResolver): Promise<number> {
    let removed = 0;
    for (const { file, entries } of await this.abandonedLogs()) {
      let settled = true;
      for (const entry of entries) {
        const target = orphanOf(entry);
        if (!target || (await resolver.isReferenced(entry, target.name))) continue;
        if (await resolver.deleteOrphan(entry, target.name, target.expected)) removed++;
        else settled = false;
      }
      if (settled) await unlink(file).catch(() => undefined);
    }
    return removed;
  }
}

/**
 * The file a dead save may have left, and the bytes it must hold to be that save's. The stored name, once
 * the storage returned it, is the save's (checked against the digest when it is the name announced); a name
 * only announced holds the save's file only if it holds the save's bytes.
 */
export function orphanOf(entry: JournalEntry): { name: string; expected: ContentDigest | undefined } | null {
  const { publishing, storedName } = entry;
  const digest = publishing && { size: publishing.size, sha256: publishing.sha256 };
  if (storedName !== undefined) return { name: storedName, expected: publishing?.name === storedName ? digest : undefined };
  if (publishing) return { name: publishing.name, expected: digest };
  return null;
}
