// The real `filefield` command, run in a folder: its exit code and output; and a project for it on a SQL engine.
import { after, before } from 'node:test';
import { execFile } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres, type PostgresCluster } from './postgres.ts';

export const CLI = fileURLToPath(new URL('../../bin/filefield.js', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(cwd: string, args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

export interface CliProject {
  /** The project's folder (its filefield.config.ts names the database and the models). */
  readonly root: string;
}

/**
 * Registers the hooks of a suite whose tests share one project on a SQL engine: a folder with a
 * filefield.config.ts naming an SQLite file or a database on a throwaway PostgreSQL cluster, and `models`
 * (module paths, relative to the folder or absolute); all removed at the end.
 */
export function cliProject(prefix: string, engine: 'sqlite' | 'postgresql', models: string[], setUp?: (root: string) => void | Promise<void>): CliProject {
  let cluster: PostgresCluster | null = null;
  let root = '';
  before(async () => {
    root = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
    if (engine === 'postgresql') cluster = await startPostgres();
    const database = engine === 'sqlite' ? 'db.sqlite3' : await cluster!.createDatabase();
    writeFileSync(join(root, 'filefield.config.ts'), `export default { DATABASE: ${JSON.stringify(database)}, MODELS: ${JSON.stringify(models)} };\n`);
    await setUp?.(root);
  });
  after(async () => {
    await cluster?.stop();
    rmSync(root, { recursive: true, force: true });
  });
  return {
    get root() {
      return root;
    },
  };
}
