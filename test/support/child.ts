/** A child process run to its end: its exit code and everything it printed. */
import { spawn, type SpawnOptions } from 'node:child_process';

export interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runChild(command: string, args: readonly string[], options: SpawnOptions = {}): Promise<ChildResult> {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (data: Buffer) => (stdout += data.toString()));
  child.stderr!.on('data', (data: Buffer) => (stderr += data.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Runs `node --import tsx <script> <args…>` inside a mount namespace of its own with a tmpfs of `size` mounted
 * at `folder` (the first argument): a real ENOSPC, and nothing mounted outside the child.
 */
export function runOnSmallDisk(cwd: string, script: string, folder: string, args: readonly string[] = [], size = '64k'): Promise<ChildResult> {
  const shell = `mount -t tmpfs -o size=${size} filefield-test "$1" && exec "${process.execPath}" --import tsx "$0" "$@"`;
  return runChild('unshare', ['-Urm', 'sh', '-c', shell, script, folder, ...args], { cwd });
}
