// Child processes in tests: waiting for one to end (its output complete), or for a line it prints; and a free
// port on 127.0.0.1 for a server a test starts.
import assert from 'node:assert/strict';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer } from 'node:net';

export const CHILD_TIMEOUT_MS = 120_000;

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Resolves once the child has ended and its output is complete (killed with SIGKILL after CHILD_TIMEOUT_MS). */
export function finished(child: ChildProcessWithoutNullStreams): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child ${child.pid} timed out; stderr: ${stderr}`));
    }, CHILD_TIMEOUT_MS);
    child.on('error', reject);
    // 'close' comes after 'exit' and after the streams end: the process is reaped and its output complete.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Resolves with the first line of the child's output that starts with `prefix`. */
export function lineStartingWith(child: ChildProcessWithoutNullStreams, prefix: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`no '${prefix}' line from child ${child.pid}; stderr: ${stderr}`)), CHILD_TIMEOUT_MS);
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    child.stdout.on('data', (data: Buffer) => {
      buffered += data.toString();
      for (const line of buffered.split('\n').slice(0, -1)) {
        if (line.startsWith(prefix)) {
          clearTimeout(timer);
          resolve(line);
        }
      }
    });
    child.on('close', (code) => reject(new Error(`child ${child.pid} exited (${code}) before '${prefix}'; stderr: ${stderr}`)));
  });
}

/** Kills the child with SIGKILL and waits until it is reaped. */
export async function killed(child: ChildProcessWithoutNullStreams, exited: Promise<Finished>): Promise<void> {
  child.kill('SIGKILL');
  assert.equal((await exited).signal, 'SIGKILL');
}

/** A port on 127.0.0.1 that nothing listens on (for a server a test starts). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
