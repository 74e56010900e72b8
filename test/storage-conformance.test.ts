import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, after } from 'node:test';
import { configure, FileSystemStorage, InMemoryStorage } from '../src/index.ts';
import { storageConformance } from './support/conformance.ts';

// Signed URLs need a key; without SECRET_KEY one would be written into BASE_DIR (the working directory).
const settingsRoot = mkdtempSync(join(tmpdir(), 'filefield-conformance-settings-'));
before(async () => {
  await configure({ BASE_DIR: settingsRoot, SECRET_KEY: 'conformance-test-secret-key' });
});
after(async () => {
  await configure({});
  rmSync(settingsRoot, { recursive: true, force: true });
});

storageConformance(
  'FileSystemStorage',
  async () => {
    const location = mkdtempSync(join(tmpdir(), 'filefield-conformance-'));
    return {
      storage: new FileSystemStorage({ location, baseUrl: '/media/' }),
      cleanup: async () => rmSync(location, { recursive: true, force: true }),
    };
  },
  { hasPath: true },
);

// InMemoryStorage holds every file in memory by design, so its streamed case is small enough that
// holding it stays under the RSS bound.
storageConformance('InMemoryStorage', async () => ({ storage: new InMemoryStorage({ baseUrl: '/media/' }) }), { largeFileMiB: 16 });
