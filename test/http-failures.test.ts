// The server's state, not a bug: an unreadable database (503, media still served), a full disk (507), and
// the slow-client limits (a body that sends nothing is dropped, connections are capped). Against
// `filefield serve` and the handlers, over real HTTP on 127.0.0.1; the full disk is a real, small tmpfs.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { ContentFile, ImproperlyConfigured, configure, settings } from '../src/index.ts';
import { Document, Profile, createMediaProject, filesUnder, fixture, upload, type MediaProject } from './support/serveProject.ts';
import { SERVER_KINDS, startApp, type RunningApp } from './support/webApps.ts';

const imageBytes = new Uint8Array(readFileSync(fixture('image.png')));

/** Bytes of a database cut off in the middle of a row, as a crash of a hand edit or a full disk leaves it. */
const TRUNCATED_DATABASE = '{"tables":{"Profile":[{"id":1,"name":"Ada","pic';

describe('an unreadable database', () => {
  let project: MediaProject;
  let imageUrl: string;
  let database: string;
  before(async () => {
    project = await createMediaProject();
    const profile = new Profile({ name: 'Ada' });
    await profile.picture.save('ada.png', new ContentFile(imageBytes));
    imageUrl = profile.picture.url;
    database = settings.DATABASE;
  });
  after(() => project.remove());

  for (const kind of SERVER_KINDS) {
    test(`${kind}: media files are still served, uploads get 503 saying the database cannot be read, nothing is kept`, async () => {
      const app = await startApp(kind);
      const healthy = readFileSync(database, 'utf8');
      writeFileSync(database, TRUNCATED_DATABASE);
      try {
        const media = await fetch(`${app.origin}${imageUrl}`);
        assert.equal(media.status, 200);
        assert.equal(media.headers.get('content-type'), 'image/png', 'typed from its bytes without the row');
        assert.deepEqual(new Uint8Array(await media.arrayBuffer()), imageBytes);

        const filesBefore = filesUnder(project.mediaRoot);
        const refused = await upload(app, 'Profile', { name: 'Grace', picture: { bytes: imageBytes, filename: 'grace.png' } });
        assert.equal(refused.status, 503);
        const text = await refused.text();
        assert.match(text, /The database .*cannot be read/);
        assert.doesNotMatch(text, /\bat .*\.ts:\d+/, 'no stack trace');
        // The development server names the file; an app's visitors are not told the server's paths.
        if (kind === 'filefield serve') assert.ok(text.includes(database), 'the file is named');
        else assert.ok(!text.includes(project.dir), 'no server path in an app\'s answer');
        assert.deepEqual(filesUnder(project.mediaRoot), filesBefore);
        assert.equal(readFileSync(database, 'utf8'), TRUNCATED_DATABASE, 'what cannot be read is not overwritten');
      } finally {
        writeFileSync(database, healthy);
        await app.close();
      }
    });
  }

  test('filefield serve: the page is a 503 saying so, not a 500', async () => {
    const app = await startApp('filefield serve');
    const healthy = readFileSync(database, 'utf8');
    writeFileSync(database, TRUNCATED_DATABASE);
    try {
      const page = await fetch(`${app.origin}/`);
      assert.equal(page.status, 503);
      assert.match(page.headers.get('content-type')!, /^text\/html/);
      const body = await page.text();
      assert.match(body, /role="alert"><strong>Unavailable\.<\/strong> The database \S+db\.json cannot be read: /);
      assert.match(body, /Media files are still served/);
    } finally {
      writeFileSync(database, healthy);
      await app.close();
    }
  });
});

/** A 512 KiB tmpfs, or why none can be mounted here (mounting needs root). */
function mountSmallDisk(folder: string): string | null {
  mkdirSync(folder, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', folder], { stdio: 'pipe' });
    return null;
  } catch (error) {
    return `cannot mount a tmpfs here (${(error as Error).message.split('\n')[0]})`;
  }
}

describe('a full disk', () => {
  let project: MediaProject;
  let disk: string;
  let unavailable: string | null;
  before(async () => {
    project = await createMediaProject();
    disk = join(project.dir, 'small-disk');
    unavailable = mountSmallDisk(disk);
    await configure({ ...settingsOf(project), MEDIA_ROOT: disk, FILE_UPLOAD_MAX_SIZE: 4 * 1024 * 1024 });
  });
  after(() => {
    if (!unavailable) execFileSync('umount', [disk]);
    project.remove();
  });

  for (const kind of SERVER_KINDS) {
    test(`${kind}: an upload larger than the space left gets 507 "out of space", and no byte of it stays`, async (t) => {
      if (unavailable) return t.skip(unavailable);
      const app = await startApp(kind);
      try {
        const before = { files: filesUnder(disk), documents: await Document.objects.count() };
        const big = new Uint8Array(1024 * 1024).fill(0x61);
        const response = await upload(app, 'Document', { title: 'big', attachment: { bytes: big, filename: 'big.txt' } });
        assert.equal(response.status, 507);
        const text = await response.text();
        assert.match(text, /out of space/);
        // The development server names the file; an app's visitors are not told the server's paths.
        if (kind === 'filefield serve') assert.ok(new RegExp(`out of space: No space left to write ${disk}/`).test(text), 'the file is named');
        else assert.ok(!text.includes(disk), 'no server path in an app\'s answer');
        assert.deepEqual({ files: filesUnder(disk), documents: await Document.objects.count() }, before);
      } finally {
        await app.close();
      }
    });
  }
});

function settingsOf(project: MediaProject): Record<string, unknown> {
  return { BASE_DIR: project.dir, SECRET_KEY: 'serve-tests-secret-key-0123456789', STORAGES: settings.STORAGES };
}

/** A raw connection to the app, resolved once connected. */
function open(origin: string): Promise<Socket> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Everything the server sends until it closes the connection. */
function untilClosed(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let received = '';
    socket.on('data', (piece: Buffer) => {
      received += piece.toString('latin1');
    });
    socket.on('error', () => undefined);
    socket.once('close', () => resolve(received));
  });
}

describe('slow clients', () => {
  let project: MediaProject;
  before(async () => {
    project = await createMediaProject({ REQUEST_IDLE_TIMEOUT: 0.3 });
  });
  after(() => project.remove());

  for (const kind of SERVER_KINDS) {
    test(`${kind}: an upload whose body stops sending is dropped after REQUEST_IDLE_TIMEOUT, storing nothing`, async () => {
      const app: RunningApp = await startApp(kind);
      try {
        const before = filesUnder(project.mediaRoot);
        const socket = await open(app.origin);
        const closed = untilClosed(socket);
        const boundary = 'stalled-boundary';
        socket.write([
          'POST /upload/Document HTTP/1.1', `Host: ${new URL(app.origin).host}`, `Origin: ${app.origin}`,
          `Content-Type: multipart/form-data; boundary=${boundary}`, 'Content-Length: 100000', '', '',
        ].join('\r\n'));
        socket.write(`--${boundary}\r\nContent-Disposition: form-data; name="attachment"; filename="stalled.txt"\r\n\r\nthe start, and then nothing`);
        // Nothing more is sent: the server must give up on its own and close the connection.
        const answer = await closed;
        // Answered once the part stored so far is removed again, so nothing can be left when the connection closes.
        assert.match(answer, /^HTTP\/1\.1 408 /, `dropped with a 408, got ${answer.slice(0, 40)}`);
        assert.deepEqual(filesUnder(project.mediaRoot), before);
      } finally {
        await app.close();
      }
    });
  }

});

describe('many clients', () => {
  let project: MediaProject;
  before(async () => {
    // The default idle limit: the connections held below must stay open for the whole test.
    project = await createMediaProject({ SERVE_MAX_CONNECTIONS: 3 });
  });
  after(() => project.remove());

  test('filefield serve: connections beyond SERVE_MAX_CONNECTIONS are closed as they arrive', async () => {
    const app = await startApp('filefield serve');
    const held: Socket[] = [];
    try {
      const host = new URL(app.origin).host;
      // Each of these is answered (so the server has surely counted it) and kept open.
      for (let index = 0; index < 3; index++) {
        const socket = await open(app.origin);
        held.push(socket);
        const answered = new Promise<string>((resolve) => socket.once('data', (piece: Buffer) => resolve(piece.toString('latin1'))));
        socket.write(`GET /media/none.txt HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
        assert.match(await answered, /^HTTP\/1\.1 404 /);
      }
      const extra = await open(app.origin);
      const closed = untilClosed(extra);
      extra.write(`GET /media/none.txt HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      assert.equal(await closed, '', 'the fourth connection is closed unanswered');
    } finally {
      for (const socket of held) socket.destroy();
      await app.close();
    }
  });
});

test('REQUEST_IDLE_TIMEOUT and SERVE_MAX_CONNECTIONS are checked when set', async () => {
  await assert.rejects(async () => configure({ REQUEST_IDLE_TIMEOUT: 0 }), (error: unknown) =>
    error instanceof ImproperlyConfigured && error.message === 'REQUEST_IDLE_TIMEOUT must be a number of seconds greater than 0, got 0.');
  await assert.rejects(async () => configure({ SERVE_MAX_CONNECTIONS: 2.5 }), (error: unknown) =>
    error instanceof ImproperlyConfigured && error.message === 'SERVE_MAX_CONNECTIONS must be a whole number of connections greater than 0, got 2.5.');
});
