/**
 * The backend registry: every backend a BACKEND setting can name, with what settings and the shell need to
 * know about it (which options are paths, how a sandbox stands in for it) and how to get its class. A new
 * backend is its driver, a Storage class over it, and one registerBackend() call.
 *
 * Remote backends are imported on first use only, so that their SDKs load only when used.
 */
import { setBackendCatalog } from '../conf/settings.ts';
import type { StorageClass } from './Storage.ts';
import { FileSystemStorage } from './FileSystemStorage.ts';
import { InMemoryStorage } from './InMemoryStorage.ts';
import { KNOWN_OPTIONS as AZURE_OPTIONS } from './azure/options.ts';
import { KNOWN_OPTIONS as S3_OPTIONS } from './s3/options.ts';
import { KNOWN_OPTIONS as SFTP_OPTIONS } from './sftp/options.ts';

export interface BackendDefinition {
  name: string;
  /** The options the backend takes (an unknown one is refused by the backend itself, naming the known ones). */
  options: readonly string[];
  /** Options holding local paths: settings resolve them against BASE_DIR. */
  pathOptions?: readonly string[];
  /**
   * What `shell --sandbox` does with it: 'copy' its `location` folder (or MEDIA_ROOT) to a throwaway one,
   * 'keep' it (it is throwaway already), or (the default) 'replace' it by an empty in-memory storage.
   */
  sandbox?: 'copy' | 'keep' | 'replace';
  /** The class, given at once or imported on first use. */
  factory: StorageClass | (() => Promise<StorageClass>);
}

const backends = new Map<string, BackendDefinition>();

export function registerBackend(definition: BackendDefinition): void {
  backends.set(definition.name, definition);
}

export function backendNamed(name: string): BackendDefinition | undefined {
  return backends.get(name);
}

const LOCAL_OPTIONS = ['location', 'baseUrl', 'filePermissionsMode', 'directoryPermissionsMode'] as const;

registerBackend({
  name: 'filesystem', options: [...LOCAL_OPTIONS, 'allowOverwrite'], pathOptions: ['location'], sandbox: 'copy', factory: FileSystemStorage,
});
registerBackend({ name: 'memory', options: LOCAL_OPTIONS, pathOptions: ['location'], sandbox: 'keep', factory: InMemoryStorage });
// Their options modules are small and load no SDK; the classes (and SDKs) are imported on first use.
registerBackend({ name: 's3', options: [...S3_OPTIONS], factory: async () => (await import('./s3/index.ts')).S3Storage });
registerBackend({ name: 'azure', options: [...AZURE_OPTIONS], factory: async () => (await import('./azure/index.ts')).AzureStorage });
registerBackend({ name: 'sftp', options: [...SFTP_OPTIONS], factory: async () => (await import('./sftp/index.ts')).SFTPStorage });

setBackendCatalog({
  names: () => [...backends.keys()],
  pathOptions: (name) => backends.get(name)?.pathOptions ?? [],
});
