/**
 * A lock file held around each read-modify-write of the database, so that writers in several processes
 * take turns. Created with O_EXCL; one left behind by a dead process (its pid is gone) is taken over.
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorCode } from '../errors.ts';

const RETRY_MIN_MS = 1;
const RETRY_MAX_MS = 25;
const GIVE_UP_MS = 30_000;

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
}

async function holderIsGone(lockFile: string): Promise<boolean> {
  try {
    const pid = Number((await readFile(lockFile, 'utf8')).trim());
    // An empty file is a lock being written right now, not an abandoned one.
    return Number.isInteger(pid) && pid > 0 && !processIsAlive(pid);
  } catch (error) {
    return errorCode(error) === 'ENOENT';
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
      await unlink(this.lockFile).catch(() => undefined);
    }
  }

  private async acquire(): Promise<void> {
    const started = Date.now();
    for (let wait = RETRY_MIN_MS; ; wait = Math.min(wait * 2, RETRY_MAX_MS)) {
      try {
        const handle = await open(this.lockFile, 'wx', 0o600);
        await handle.writeFile(String(process.pid));
        await handle.close();
        return;
      } catch (error) {
        if (errorCode(error) !== 'EEXIST') throw error;
      }
      if (await holderIsGone(this.lockFile)) {
        await unlink(this.lockFile).catch(() => undefined);
        continue;
      }
      if (Date.now() - started > GIVE_UP_MS) {
        throw new Error(`The database is locked by another process (${this.lockFile}); gave up after ${GIVE_UP_MS / 1000} s.`);
      }
      await sleep(wait + Math.random() * wait);
    }
  }
}

export { processIsAlive };
