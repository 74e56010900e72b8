/**
 * `filefield serve`: a development server for the media files and an upload page. serve() starts it in
 * the background (the shell uses it); runServeCommand() is the CLI's foreground version.
 */
import { createServer, type Server } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { loadSettings } from '../conf/load.ts';
import { settings } from '../conf/settings.ts';
import { errorCode } from '../errors.ts';
import type { ModelClass } from '../models/Model.ts';
import { createRequestListener } from './app.ts';
import { allowedHostNames } from './guard.ts';
import { discoverModels } from './models.ts';

export const DEFAULT_PORT = 8000;
export const DEFAULT_HOST = '127.0.0.1';

export interface ServeOptions {
  /** 0 picks a free port. Default 8000. */
  port?: number;
  /** The address to listen on. Default 127.0.0.1 (this machine only). */
  host?: string;
  /** Models to show besides those of settings.MODELS and those already loaded. */
  models?: readonly ModelClass[];
  /** Where the address line goes; false for silence. Default console.log. */
  announce?: ((line: string) => void) | false;
  /** A line per request (the CLI logs them; the shell, whose prompt they would interrupt, does not). */
  logRequests?: ((line: string) => void) | false;
}

export interface RunningServer {
  /** The address to open, e.g. http://127.0.0.1:8000/ */
  url: string;
  close(): Promise<void>;
}

function urlHost(address: string): string {
  if (address === '0.0.0.0') return '127.0.0.1';
  if (address === '::') return '[::1]';
  return isIP(address) === 6 ? `[${address}]` : address;
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Starts the server with the current settings and resolves once it listens; the process keeps running meanwhile. */
export async function serve(options: ServeOptions = {}): Promise<RunningServer> {
  const port = options.port ?? DEFAULT_PORT;
  const host = options.host ?? DEFAULT_HOST;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`The port must be a whole number from 0 to 65535, got ${port}.`);
  const models = await discoverModels(options.models);
  const server = createServer(createRequestListener({
    models,
    allowedHosts: allowedHostNames(host),
    log: options.logRequests || undefined,
  }));
  // A slow or stalled client must not hold a connection open for ever, nor many clients take every socket.
  const idleTimeout = settings.REQUEST_IDLE_TIMEOUT * 1000;
  // An upload's body is timed by the upload reader, which cleans up and answers 408; the socket's own limit
  // is the backstop for every other stall (a client that never reads its download).
  server.timeout = idleTimeout * 2;
  server.headersTimeout = Math.min(30 * 1000, idleTimeout);
  server.requestTimeout = 10 * 60 * 1000;
  server.maxConnections = settings.SERVE_MAX_CONNECTIONS;
  let address: AddressInfo;
  try {
    address = await listen(server, port, host);
  } catch (error) {
    if (errorCode(error) === 'EADDRINUSE') {
      throw new Error(`Port ${port} on ${host} is already in use: choose another with --port (0 picks a free one).`, { cause: error });
    }
    throw error;
  }
  const url = `http://${urlHost(address.address)}:${address.port}/`;
  const announce = options.announce === undefined ? console.log : options.announce;
  if (announce) {
    const names = models.map((model) => model.name).join(', ') || 'none (set MODELS)';
    announce(`filefield serve: media and uploads at ${url} (models: ${names})`);
  }
  let closing: Promise<void> | null = null;
  return {
    url,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Idle keep-alive connections would hold close() open until they time out.
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      });
      return closing;
    },
  };
}

export interface ServeCommandOptions {
  settingsFile?: string;
  port?: number;
  host?: string;
}

/** The `filefield serve` command: loads the settings, serves until SIGINT/SIGTERM, returns the exit code. */
export async function runServeCommand(options: ServeCommandOptions): Promise<number> {
  try {
    await loadSettings({ file: options.settingsFile });
  } catch (error) {
    console.error(`filefield serve: ${(error as Error).message}`);
    return 1;
  }
  let running: RunningServer;
  try {
    running = await serve({
      port: options.port,
      host: options.host,
      announce: (line) => console.log(line),
      logRequests: (line) => console.log(line),
    });
  } catch (error) {
    console.error(`filefield serve: ${(error as Error).message}`);
    return 1;
  }
  console.log('Press Ctrl+C to stop.');
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await running.close();
  return 0;
}
