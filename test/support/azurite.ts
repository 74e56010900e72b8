/**
 * A real Azure Blob service for the Azure tests: Microsoft's emulator, azurite, run from node_modules as a
 * child process on a port the system picks, with its data in a temporary folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { requireTool } from './tools.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** The emulator's well-known development account, published in azurite's README. */
export const DEV_ACCOUNT_NAME = 'devstoreaccount1';
export const DEV_ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const START_TIMEOUT_MS = 30_000;
const LISTENING = /successfully listens on (http:\/\/\S+)/;

export interface AzuriteServer {
  connectionString: string;
  /** The blob endpoint with the account in its path: `http://127.0.0.1:PORT/devstoreaccount1`. */
  endpoint: string;
  accountName: string;
  accountKey: string;
  /** The port azurite listens on. */
  port: number;
  stop(): Promise<void>;
}

function blobServiceEntry(): string {
  return join(dirname(requireTool.resolve('azurite/package.json')), 'dist', 'src', 'blob', 'main.js');
}

function exitOf(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

export async function startAzurite(): Promise<AzuriteServer> {
  const location = mkdtempSync(join(tmpdir(), 'filefield-azurite-'));
  const child = spawn(
    process.execPath,
    [
      blobServiceEntry(),
      '--blobHost', '127.0.0.1',
      // 0: the system picks a free port, and azurite prints the one it got.
      '--blobPort', '0',
      '--location', location,
      '--silent',
      '--disableTelemetry',
      '--skipApiVersionCheck',
      '--loose',
      // Take the account from the path even when the host is a name (a custom domain such as localhost).
      '--disableProductStyleUrl',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`azurite did not start within ${START_TIMEOUT_MS} ms: ${output}`)), START_TIMEOUT_MS);
    const onData = (text: string) => {
      output += text;
      const match = LISTENING.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.setEncoding('utf8').on('data', onData);
    child.stderr!.setEncoding('utf8').on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`azurite exited with code ${code} before listening: ${output}`));
    });
  }).catch(async (error) => {
    child.kill('SIGTERM');
    await exitOf(child);
    rmSync(location, { recursive: true, force: true });
    throw error;
  });
  // Nothing reads the pipes from now on: let them drain so that azurite never blocks on a full pipe.
  child.stdout!.resume();
  child.stderr!.resume();

  const endpoint = `${baseUrl}/${DEV_ACCOUNT_NAME}`;
  return {
    endpoint,
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT_NAME};AccountKey=${DEV_ACCOUNT_KEY};BlobEndpoint=${endpoint};`,
    accountName: DEV_ACCOUNT_NAME,
    accountKey: DEV_ACCOUNT_KEY,
    port: Number(new URL(baseUrl).port),
    async stop() {
      child.kill('SIGTERM');
      await exitOf(child);
      rmSync(location, { recursive: true, force: true });
    },
  };
}
