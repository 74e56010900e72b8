// Running npm, node and git in a user's project folder (outside the repository), as a user's shell would.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The environment of a user's shell: nothing inherited from the `npm test` that runs the tests. */
function userEnvironment(): NodeJS.ProcessEnv {
  const environment = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_|^INIT_CWD$|^FILEFIELD_/i.test(key)));
  return { ...environment, NO_UPDATE_NOTIFIER: '1' };
}

/** Runs `command` in `cwd`; resolves to its standard output, or rejects with both outputs in the message. */
export async function inFolder(cwd: string, command: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(command, args, { cwd, env: userEnvironment(), maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stdout ?? ''}\n${stderr ?? ''}`, { cause: error });
  }
}

/** npm, from the registry only where its cache lacks a package. */
export const npm = (cwd: string, ...args: string[]): Promise<string> => inFolder(cwd, 'npm', [...args, '--no-audit', '--no-fund', '--prefer-offline']);

export const node = (cwd: string, ...args: string[]): Promise<string> => inFolder(cwd, process.execPath, args);

/** Writes files (relative name → content) under `folder`, making folders as needed. */
export function writeFiles(folder: string, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(join(folder, name, '..'), { recursive: true });
    fs.writeFileSync(join(folder, name), content);
  }
}
