// The database settings: DATABASES in Django's names, the DATABASE shorthand (a path or a URL), the
// DATABASE_URL environment variable when neither is given, and the errors a bad value or an unreachable
// server gives (one line naming what is wrong).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CharField, configure, ImproperlyConfigured, Model, settings } from '../src/index.ts';
import { normalizeDatabases } from '../src/conf/databases.ts';
import { closeActiveDatabase } from '../src/models/activeDatabase.ts';
import { startPostgres, type PostgresCluster } from './support/postgres.ts';

const CLI = fileURLToPath(new URL('../bin/filefield.js', import.meta.url));
const BASE = '/srv/app';

class Thing extends Model {
  static override fields = { title: new CharField() };
  declare title: string;
}

describe('which database the settings name', () => {
  const cases: [string, { DATABASES?: unknown; DATABASE?: unknown }, NodeJS.ProcessEnv, object][] = [
    ['nothing: db.json in BASE_DIR', {}, {}, { ENGINE: 'json', NAME: `${BASE}/db.json` }],
    ['DATABASE_URL when nothing is set', {}, { DATABASE_URL: 'postgres://ann:s%40cret@db.example:6543/shop' },
      { ENGINE: 'postgresql', NAME: 'shop', USER: 'ann', PASSWORD: 's@cret', HOST: 'db.example', PORT: 6543 }],
    ['DATABASE beats DATABASE_URL', { DATABASE: 'rows.json' }, { DATABASE_URL: 'postgres://x@y/z' }, { ENGINE: 'json', NAME: `${BASE}/rows.json` }],
    ['a .sqlite3 path', { DATABASE: 'data/db.sqlite3' }, {}, { ENGINE: 'sqlite', NAME: `${BASE}/data/db.sqlite3` }],
    ['a .db path', { DATABASE: '/var/lib/app.db' }, {}, { ENGINE: 'sqlite', NAME: '/var/lib/app.db' }],
    ['sqlite:///absolute', { DATABASE: 'sqlite:///var/db/app.sqlite3' }, {}, { ENGINE: 'sqlite', NAME: '/var/db/app.sqlite3' }],
    ['sqlite:relative', { DATABASE: 'sqlite:app.sqlite3' }, {}, { ENGINE: 'sqlite', NAME: `${BASE}/app.sqlite3` }],
    ['postgresql:// with no port', { DATABASE: 'postgresql://me@localhost/app' }, {}, { ENGINE: 'postgresql', NAME: 'app', USER: 'me', HOST: 'localhost' }],
    ['DATABASES in Django\'s names', { DATABASES: { default: { ENGINE: 'django.db.backends.postgresql', NAME: 'app', USER: 'u', PASSWORD: 'p', HOST: 'h', PORT: '5433' } } }, {},
      { ENGINE: 'postgresql', NAME: 'app', USER: 'u', PASSWORD: 'p', HOST: 'h', PORT: 5433 }],
    ['DATABASES sqlite with a relative NAME', { DATABASES: { default: { ENGINE: 'sqlite', NAME: 'db.sqlite3' } } }, {}, { ENGINE: 'sqlite', NAME: `${BASE}/db.sqlite3` }],
  ];
  for (const [what, input, environment, expected] of cases) {
    test(what, () => {
      const { DATABASES } = normalizeDatabases(input, BASE, environment);
      const actual = Object.fromEntries(Object.entries(DATABASES.default).filter(([, value]) => value !== undefined));
      assert.deepEqual(actual, expected);
    });
  }

  test('settings.DATABASE shows a server without its password', async () => {
    await configure({ DATABASE: 'postgres://ann:secret@db.example:6543/shop' });
    assert.equal(settings.DATABASE, 'postgresql://ann@db.example:6543/shop');
    assert.equal(settings.DATABASES.default.PASSWORD, 'secret');
    await configure({});
  });
});

describe('bad database settings are ImproperlyConfigured, naming the key', () => {
  const bad: [string, { DATABASES?: unknown; DATABASE?: unknown }, RegExp][] = [
    ['both DATABASE and DATABASES', { DATABASE: 'a.json', DATABASES: { default: { ENGINE: 'json', NAME: 'b.json' } } }, /DATABASE\/DATABASES are mutually exclusive/],
    ['an unknown scheme', { DATABASE: 'mysql://x/y' }, /^DATABASE has an unknown scheme 'mysql:'/],
    ['a URL without a database name', { DATABASE: 'postgres://u:hidden@host:5432/' }, /^DATABASE must name the database .*postgres:\/\/u:\*\*\*@host:5432\//],
    ['an unknown ENGINE', { DATABASES: { default: { ENGINE: 'oracle', NAME: 'x' } } }, /^DATABASES\.default\.ENGINE must be one of json, sqlite, postgresql, got "oracle"/],
    ['no NAME', { DATABASES: { default: { ENGINE: 'sqlite' } } }, /^DATABASES\.default\.NAME must be a non-empty string/],
    ['a bad PORT', { DATABASES: { default: { ENGINE: 'postgresql', NAME: 'x', PORT: 'abc' } } }, /^DATABASES\.default\.PORT must be a port number/],
    ['an unknown key', { DATABASES: { default: { ENGINE: 'sqlite', NAME: 'x', PASWORD: 'typo' } } }, /^DATABASES\.default\.PASWORD is not a database setting/],
    ['a second alias', { DATABASES: { default: { ENGINE: 'sqlite', NAME: 'x' }, replica: {} } }, /^DATABASES\.replica is not used/],
    ['DATABASE of the wrong kind', { DATABASE: 7 }, /^DATABASE must be a path .* or a URL/],
  ];
  for (const [what, input, message] of bad) {
    test(what, () => {
      assert.throws(() => normalizeDatabases(input, BASE, {}), (error: unknown) => error instanceof ImproperlyConfigured && message.test(error.message));
    });
  }
  test('a bad DATABASE_URL names DATABASE_URL', () => {
    assert.throws(() => normalizeDatabases({}, BASE, { DATABASE_URL: 'ftp://x' }), { name: 'ImproperlyConfigured', message: /^DATABASE_URL has an unknown scheme 'ftp:'/ });
  });
});

describe('a driver that is not installed', () => {
  for (const [url, line] of [['sqlite:db.sqlite3', 'npm install better-sqlite3@^12'], ['postgres://u@127.0.0.1:1/x', 'npm install pg']] as const) {
    test(`${url.split(':')[0]}: the error names the npm install to run`, async () => {
      const folder = fs.mkdtempSync(join(tmpdir(), 'filefield-no-driver-'));
      try {
        fs.writeFileSync(join(folder, 'filefield.config.mjs'), `export default { DATABASE: ${JSON.stringify(url)} };\n`);
        const hide = fileURLToPath(new URL('./support/hide-drivers.mjs', import.meta.url));
        const failure = await promisify(execFile)(process.execPath, ['--import', hide, CLI, 'migrate'], { cwd: folder }).then(
          () => assert.fail('migrate should fail'),
          (error: { code: number; stderr: string }) => error,
        );
        assert.equal(failure.code, 1);
        assert.match(failure.stderr, new RegExp(`^filefield migrate: ImproperlyConfigured: The (sqlite|postgresql) engine needs the '(better-sqlite3|pg)' package, which is not installed: run \`${line.replace(/[.^$]/g, '\\$&')}\`\.\n$`));
      } finally {
        fs.rmSync(folder, { recursive: true, force: true });
      }
    });
  }
});

describe('a server that cannot be used fails with one line', () => {
  let cluster: PostgresCluster;
  let scratch: string;

  before(async () => {
    scratch = fs.mkdtempSync(join(tmpdir(), 'filefield-db-errors-'));
    cluster = await startPostgres();
  });

  after(async () => {
    await closeActiveDatabase();
    await configure({});
    await cluster.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  async function closedPort(): Promise<number> {
    return new Promise((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
  }

  test('no server on the port: host, port and database named, no stack', async () => {
    const port = await closedPort();
    await configure({ DATABASE: `postgres://postgres:x@127.0.0.1:${port}/shop` });
    await assert.rejects(Thing.objects.count(), {
      name: 'OperationalError',
      message: `Could not connect to PostgreSQL at 127.0.0.1:${port} (database 'shop', user 'postgres'): connection refused (is the server running, and on this port?).`,
    });
  });

  test('a wrong password says so', async () => {
    await configure({ DATABASE: `postgres://postgres:wrong@127.0.0.1:${cluster.port}/postgres` });
    await assert.rejects(Thing.objects.count(), {
      name: 'OperationalError',
      message: `The password for user 'postgres' was refused by PostgreSQL at 127.0.0.1:${cluster.port} (database 'postgres', user 'postgres').`,
    });
  });

  test('a database that does not exist says how to make it', async () => {
    await configure({ DATABASE: `postgres://postgres:${encodeURIComponent(cluster.password)}@127.0.0.1:${cluster.port}/missing` });
    await assert.rejects(Thing.objects.count(), { name: 'OperationalError', message: /the database 'missing' does not exist \(create it with createdb\)/ });
  });

  test('the CLI prints the one line, and exits 1', async () => {
    const port = await closedPort();
    const settingsFile = join(scratch, 'filefield.config.mjs');
    fs.writeFileSync(settingsFile, `export default { DATABASE: 'postgres://postgres:x@127.0.0.1:${port}/shop' };\n`);
    const failure = await promisify(execFile)(process.execPath, [CLI, 'migrate', '--settings', settingsFile], { cwd: scratch }).then(
      () => assert.fail('migrate should fail'),
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    assert.equal(failure.code, 1);
    assert.equal(failure.stderr, `filefield migrate: OperationalError: Could not connect to PostgreSQL at 127.0.0.1:${port} (database 'shop', user 'postgres'): connection refused (is the server running, and on this port?).\n`);
  });
});
