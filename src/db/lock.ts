/**
 * A lock file held around each read-modify-write of the database, so that writers in several processes
 * take turns. It holds the holder's identity (pid, start time and boot id: see processIdentity.ts); one left
 * behind by a dead process is taken over at once, even when its pid now belongs to another process.
 *
 * The lock is taken by hard-linking a file that holds this process's identity (`<lock>.<pid>-<hex>`, made
 * once, removed at exit) to the lock's name, which fails when the name is taken: no file is made or freed
 * per write. That matters on ext4 without a journal, whose allocator skips every inode freed in the last
 * minute (six while its table block is unwritten), so a file made and removed at every write slows every
 * later file creation nearby. Where the filesystem has no hard links, or a process is known by its pid
 * alone (a lock is then judged by its file's age, which a linked file does not renew), the lock file is
 * created with O_EXCL.
 *
 * Only a lock seen to belong to a dead process is ever removed by another process, and processes doing so
 * take turns through a second lock file (`<lock>.break`): without it, one could remove the lock that another
 * has just created after removing the dead one, and both would write at once.
 *
 * Taking a free lock and releasing it are made at once, not through the thread pool: each is a call or
 * two on a local file, and every write of the database makes them.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { open, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { OutOfSpaceError, errorCode, isNoHardLinks, isOutOfSpace, isUnwritableFolder } from '../errors.ts';
import { identityIsAlive, ownIdentity, parseIdentity } from './processIdentity.ts';

const RETRY_MIN_MS = 1;
const RETRY_MAX_MS = 25;
const GIVE_UP_MS = 30_000;

/**
 * A lock whose holder cannot be told apart from a later process with its pid (a bare pid, from an older
 * version or a system without /proc) is taken for abandoned once it is this old: a write holds the lock
 * for milliseconds. So is an empty one (its writer died between creating it and writing who it is), or
 * one that does not say who holds it.
 */
const UNVERIFIABLE_LOCK_STALE_MS = 10_000;
/** A breaker holds `<lock>.break` for two file operations; one this old was left by a breaker that died. */
const BREAKER_STALE_MS = 10_000;

async function ageOf(file: string): Promise<number | undefined> {
  try {
    return Date.now() - (await stat(file)).mtimeMs;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * 'missing' when there is no such file (a lock released meanwhile), 'abandoned' when the process it names
 * is dead (or, when it cannot be told, when the file is too old to belong to a live one).
 */
async function holderState(file: string): Promise<'held' | 'abandoned' | 'missing'> {
  let text: string;
  try {
    text = (await readFile(file, 'utf8')).trim();
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return 'missing';
    throw error;
  }
  const identity = text === '' ? null : parseIdentity(text);
  const holder = identity === null ? 'unknown' : await identityIsAlive(identity);
  if (holder !== 'unknown') return holder === 'dead' ? 'abandoned' : 'held';
  const age = await ageOf(file);
  if (age === undefined) return 'missing';
  return age > UNVERIFIABLE_LOCK_STALE_MS ? 'abandoned' : 'held';
}

/** Identity files of this process, removed when it exits. */
const ownHolderFiles = new Set<string>();
let removalAtExit = false;

function removeAtExit(file: string): void {
  ownHolderFiles.add(file);
  if (removalAtExit) return;
  removalAtExit = true;
  process.once('exit', () => {
    for (const own of ownHolderFiles) {
      try {
        unlinkSync(own);
      } catch {
        // gone already
      }
    }
  });
}

/** `<lock>.<pid>-<8 hex digits>`: a process's identity file for the lock, as opposed to `<lock>.break`. */
const HOLDER_SUFFIX = /^\.\d+-[0-9a-f]{8}$/;

/** Removes the identity files that processes killed before their exit left beside the lock. */
async function removeDeadHolderFiles(lockFile: string): Promise<void> {
  const folder = dirname(lockFile);
  const prefix = basename(lockFile);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !HOLDER_SUFFIX.test(name.slice(prefix.length))) continue;
    const file = join(folder, name);
    if (ownHolderFiles.has(file)) continue;
    // One that cannot be read (another user's, or not a file) is left alone: it never stops a lock.
    const state = await holderState(file).catch(() => 'unreadable' as const);
    if (state === 'abandoned') await unlink(file).catch(() => undefined);
  }
}

/**
 * Removes the lock if it is (still) abandoned, taking turns with other breakers. While a breaker holds
 * `<lock>.break`, the abandoned lock file it looks at can only be removed by itself (its holder is dead), so
 * no live lock can take its place between the check and the removal. False when another breaker is at it.
 */
async function breakAbandonedLock(lockFile: string): Promise<boolean> {
  const breaker = `${lockFile}.break`;
  try {
    await (await open(breaker, 'wx', 0o600)).close();
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw error;
    const age = await ageOf(breaker);
    if (age !== undefined && age > BREAKER_STALE_MS) await unlink(breaker).catch(() => undefined);
    return false;
  }
  try {
    if ((await holderState(lockFile)) === 'abandoned') await unlink(lockFile).catch(() => undefined);
    return true;
  } finally {
    await unlink(breaker).catch(() => undefined);
  }
}

/** Runs `task` while holding `lockFile`; in-process callers queue up first so they don't spin on the file. */
export class FileLock {
  private queue: Promise<unknown> = Promise.resolve();
  /** This process's identity file, linked to the lock's name to take it (null until the first lock). */
  private holderFile: string | null = null;
  private hardLinks = true;

  constructor(readonly lockFile: string) {}

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(() => this.holding(task));
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * Runs `task` holding the lock, or, where the lock cannot be taken (a read-only folder or mount, a full
   * disk), without it: for readers, which must still work there.
   */
  async runIfPossible<T>(task: () => Promise<T>): Promise<T> {
    let taken = false;
    try {
      return await this.run(() => {
        taken = true;
        return task();
      });
    } catch (error) {
      if (taken || !(isOutOfSpace(error) || isUnwritableFolder(error))) throw error;
      return task();
    }
  }

  /** Removes this process's identity file (made again by the next lock). */
  close(): void {
    if (this.holderFile === null) return;
    ownHolderFiles.delete(this.holderFile);
    try {
      unlinkSync(this.holderFile);
    } catch {
      // removed already
    }
    this.holderFile = null;
  }

  private async holding<T>(task: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await task();
    } finally {
      try {
        unlinkSync(this.lockFile);
      } catch {
        // removed already
      }
    }
  }

  private async acquire(): Promise<void> {
    const started = Date.now();
    const own = await ownIdentity();
    const identity = JSON.stringify(own);
    // A linked lock keeps its identity file's age: only an identity that says for sure whether its process
    // lives (start time and boot id, on Linux) may be linked; a bare pid is judged by its file's age.
    if (own.start === undefined || own.boot === undefined) this.hardLinks = false;
    for (let wait = RETRY_MIN_MS; ; wait = Math.min(wait * 2, RETRY_MAX_MS)) {
      if (this.hardLinks ? await this.tryLink(identity) : await this.tryCreate(identity)) return;
      const state = await holderState(this.lockFile);
      // Released since we tried: try again at once (never remove a lock not seen to be abandoned).
      if (state === 'missing') continue;
      if (state === 'abandoned' && (await breakAbandonedLock(this.lockFile))) continue;
      if (Date.now() - started > GIVE_UP_MS) {
        throw new Error(`The database is locked by another process (${this.lockFile}); gave up after ${GIVE_UP_MS / 1000} s.`);
      }
      await sleep(wait + Math.random() * wait);
    }
  }

  /** Takes the lock by linking this process's identity file to its name; false when another holds it. */
  private async tryLink(identity: string): Promise<boolean> {
    this.holderFile ??= await this.makeHolderFile(identity);
    try {
      linkSync(this.holderFile, this.lockFile);
      return true;
    } catch (error) {
      const code = errorCode(error);
      if (code === 'EEXIST') return false;
      if (code === 'ENOENT') {
        // Our identity file was removed from outside: made again at the next try.
        this.close();
        return false;
      }
      if (!isNoHardLinks(error)) throw error;
      this.close();
      this.hardLinks = false;
      return this.tryCreate(identity);
    }
  }

  private async makeHolderFile(identity: string): Promise<string> {
    await removeDeadHolderFiles(this.lockFile);
    const file = `${this.lockFile}.${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await writeFile(file, identity, { flag: 'wx', mode: 0o600 });
    } catch (error) {
      await unlink(file).catch(() => undefined);
      throw isOutOfSpace(error) ? new OutOfSpaceError(this.lockFile, error) : error;
    }
    removeAtExit(file);
    return file;
  }

  /** Takes the lock by creating its file with O_EXCL (for filesystems without hard links). */
  private async tryCreate(identity: string): Promise<boolean> {
    let fd: number;
    try {
      fd = openSync(this.lockFile, 'wx', 0o600);
    } catch (error) {
      if (errorCode(error) === 'EEXIST') return false;
      throw error;
    }
    try {
      writeSync(fd, identity);
    } catch (error) {
      // Not left behind empty (which others would wait on): the lock was never ours to hold.
      closeSync(fd);
      await unlink(this.lockFile).catch(() => undefined);
      throw isOutOfSpace(error) ? new OutOfSpaceError(this.lockFile, error) : error;
    }
    closeSync(fd);
    return true;
  }
}

export { processIsAlive } from './processIdentity.ts';
