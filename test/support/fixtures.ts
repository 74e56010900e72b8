// The files under fixtures/, and a fresh project per test (its own BASE_DIR, MEDIA_ROOT and DATABASE) for the
// model tests that save into MEDIA_ROOT.
import { after, afterEach, before, beforeEach } from 'node:test';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configure, type SettingsInput } from '../../src/index.ts';

/** The path of a file under fixtures/. */
export const fixture = (name: string): string => fileURLToPath(new URL(`../../fixtures/${name}`, import.meta.url));

/** The bytes of a file under fixtures/. */
export const bytesOf = (name: string): Buffer => fs.readFileSync(fixture(name));

export interface ProjectPerTest {
  /** The current test's BASE_DIR (a fresh folder per test). */
  readonly root: string;
  readonly mediaRoot: string;
  readonly database: string;
  /** The current test's settings (BASE_DIR, MEDIA_ROOT, MEDIA_URL '/media/', DATABASE), with `extra` on top. */
  settings(extra?: SettingsInput): SettingsInput;
  /** A file descriptor on a fixture, closed after the test. */
  openFixture(name: string): number;
}

/**
 * Registers the hooks of a test file whose every test gets a fresh project: a scratch folder
 * (`<tmpdir>/<prefix>XXXXXX`) for the file, a folder in it per test configured as BASE_DIR with its
 * MEDIA_ROOT and DATABASE, the descriptors of openFixture() closed after each test, and at the end the
 * settings reset and the scratch folder removed. Call it once, at the top level of the test file.
 */
export function projectPerTest(prefix: string): ProjectPerTest {
  let scratch: string;
  let root: string;
  let counter = 0;
  const openFds: number[] = [];

  const project: ProjectPerTest = {
    get root() {
      return root;
    },
    get mediaRoot() {
      return join(root, 'media');
    },
    get database() {
      return join(root, 'db.json');
    },
    settings(extra: SettingsInput = {}): SettingsInput {
      return { BASE_DIR: root, MEDIA_ROOT: project.mediaRoot, MEDIA_URL: '/media/', DATABASE: project.database, ...extra };
    },
    openFixture(name: string): number {
      const fd = fs.openSync(fixture(name), 'r');
      openFds.push(fd);
      return fd;
    },
  };

  before(() => {
    scratch = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), prefix)));
  });

  beforeEach(async () => {
    root = join(scratch, `t${++counter}`);
    fs.mkdirSync(root);
    await configure(project.settings());
  });

  afterEach(() => {
    for (const fd of openFds.splice(0)) fs.closeSync(fd);
  });

  after(async () => {
    await configure({});
    fs.chmodSync(scratch, 0o700);
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  return project;
}
