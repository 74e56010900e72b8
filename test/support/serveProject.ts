// A throwaway project for the `filefield serve` tests: a temporary BASE_DIR with its media folder and
// database, a storage that remembers every name it was asked about, two models, and the server on a free port.
import { mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { CharField, configure, FileField, FileSystemStorage, Model, settings, type File, type FieldFile, type SettingsInput } from '../../src/index.ts';
import { serve, type RunningServer } from '../../src/server/index.ts';
import { Profile } from '../../example/models.ts';

export { Profile };

export { fixture } from './fixtures.ts';

/** A real FileSystemStorage that notes each name it is asked to resolve or open (to prove a request never reached it). */
export class RecordingStorage extends FileSystemStorage {
  static touched: string[] = [];

  override path(name: string): string {
    RecordingStorage.touched.push(name);
    return super.path(name);
  }

  protected override async _open(name: string): Promise<File> {
    RecordingStorage.touched.push(name);
    return super._open(name);
  }
}

/** A model with a plain FileField: any bytes are accepted, their type is sniffed. */
export class Document extends Model {
  static override fields = {
    title: new CharField({ maxLength: 100, blank: true }),
    attachment: new FileField({ uploadTo: 'documents/' }),
  };

  declare title: string;
  declare attachment: FieldFile;
}

export interface ServeProject {
  dir: string;
  mediaRoot: string;
  server: RunningServer;
  /** The server's origin, e.g. http://127.0.0.1:41234 */
  origin: string;
  close(): Promise<void>;
}

export interface MediaProject {
  dir: string;
  mediaRoot: string;
  /** Removes the project's folder. */
  remove(): void;
}

/** A temporary project folder, configured: its media and database inside, the recording storage as default. */
export async function createMediaProject(extraSettings: SettingsInput = {}): Promise<MediaProject> {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'filefield-serve-')));
  await configure({
    BASE_DIR: dir,
    SECRET_KEY: 'serve-tests-secret-key-0123456789',
    STORAGES: { default: { BACKEND: RecordingStorage } },
    ...extraSettings,
  });
  return { dir, mediaRoot: settings.MEDIA_ROOT, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function startServeProject(extraSettings: SettingsInput = {}): Promise<ServeProject> {
  const project = await createMediaProject(extraSettings);
  const server = await serve({ port: 0, host: '127.0.0.1', models: [Profile, Document], announce: false });
  return {
    dir: project.dir,
    mediaRoot: project.mediaRoot,
    server,
    origin: server.url.replace(/\/$/, ''),
    async close() {
      await server.close();
      project.remove();
    },
  };
}

/** Every file under `folder` (temporary files of saves included), as sorted relative paths. */
export function filesUnder(folder: string): string[] {
  try {
    return readdirSync(folder, { recursive: true, withFileTypes: true })
      .filter((entry) => !entry.isDirectory())
      .map((entry) => relative(folder, join(entry.parentPath, entry.name)))
      .sort();
  } catch {
    return []; // no media folder yet: no files
  }
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A GET with the request target sent exactly as given (fetch would normalise `..` and backslashes away). */
export function rawGet(origin: string, target: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: hostname, port, path: target, method: 'GET', headers }, (response) => {
      const pieces: Buffer[] = [];
      response.on('data', (piece: Buffer) => pieces.push(piece));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(pieces) }));
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

/** A multipart upload to a model's form, as a browser on the page would send it. */
export function upload(project: { origin: string }, table: string, parts: Record<string, string | { bytes: Uint8Array<ArrayBuffer>; filename: string }>, headers: Record<string, string> = {}): Promise<Response> {
  const form = new FormData();
  for (const [name, value] of Object.entries(parts)) {
    if (typeof value === 'string') form.append(name, value);
    else form.append(name, new Blob([value.bytes]), value.filename);
  }
  return fetch(`${project.origin}/upload/${table}`, {
    method: 'POST',
    body: form,
    redirect: 'manual',
    headers: { origin: project.origin, ...headers },
  });
}
