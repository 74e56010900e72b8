/**
 * A lock file held around each read-modify-write of the database, so that writers in several processes
 * take turns. Created with O_EXCL, holding the holder's identity (pid, start time and boot id: see
 * processIdentity.ts); one left behind by a dead process is taken over at once, even when its pid now
 * belongs to another process.
 *
 * Only a lock seen to belong to a dead process is ever removed by another process, and processes doing so
 * take turns through a second lock file (`<lock>.break`): without it, one could remove the lock that another
 * has just created after removing the dead one, and both would write at once.
 *
 * Taking a free lock and releasing it are made at once, not through the thread pool: each is a call or
 * two on a local file, and every write of the database makes them.
 */
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { OutOfSpaceError, errorCode, isOutOfSpace } from '../errors.ts';
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

/** 'missing' when there is no lock file (released meanwhile), 'abandoned' when its holder is dead. */
async function holderState(lockFile: string): Promise<'held' | 'abandoned' | 'missing'> {
  let text: string;
  try {
    text = (await readFile(lockFile, 'utf8')).trim();
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return 'missing';
    throw error;
  }
  const identity = text === '' ? null : parseIdentity(text);
  const holder = identity === null ? 'unknown' : await identityIsAlive(identity);
  if (holder !== 'unknown') return holder === 'dead' ? 'abandoned' : 'held';
  const age = await ageOf(lockFile);
  if (age === undefined) return 'missing';
  return age > UNVERIFIABLE_LOCK_STALE_MS ? 'abandoned' : 'held';
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

  constructor(readonly lockFile: string) {}

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(() => this.holding(task));
    this.queue = result.catch(() => undefined);
    return result;
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
    const identity = JSON.stringify(await ownIdentity());
    for (let wait = RETRY_MIN_MS; ; wait = Math.min(wait * 2, RETRY_MAX_MS)) {
      let fd: number | undefined;
      try {
        fd = openSync(this.lockFile, 'wx', 0o600);
      } catch (error) {
        if (errorCode(error) !== 'EEXIST') throw error;
      }
      if (fd !== undefined) {
        try {
          writeSync(fd, identity);
        } catch (error) {
          // Not left behind empty (which others would wait on): the lock was never ours to hold.
          closeSync(fd);
          await unlink(this.lockFile).catch(() => undefined);
          throw isOutOfSpace(error) ? new OutOfSpaceError(this.lockFile, error) : error;
        }
        closeSync(fd);
        return;
      }
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
}

export { processIsAlive } from './processIdentity.ts';
