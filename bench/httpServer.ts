/**
 * A child process of bench/media.ts: the server under load, kept apart from the load generator so that the
 * two do not share one event loop. Prints one JSON line ({ origin, paths }) once it listens.
 *   argv: <express|serve> <project folder> <rows>
 *   express: one Express 5 app serving the same files through express.static (/static/…) and mediaHandler (/media/…)
 *   serve:   `filefield serve` with <rows> Profile rows in the database
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ContentFile, configure, settings, storages } from '../src/index.ts';
import { mediaHandler } from '../src/http/index.ts';
import { serve } from '../src/server/index.ts';
import { Profile } from '../example/models.ts';
import { seedProfileRows } from './seed.ts';

const [kind, folder, rowsText] = process.argv.slice(2);
await configure({ BASE_DIR: folder!, SECRET_KEY: 'bench-secret-key-0123456789' });

/** `rows` rows in all: seeded ones, and one saved through the field. */
async function profiles(rows: number, png: Uint8Array): Promise<Profile> {
  await seedProfileRows(Profile, rows - 1, png.byteLength);
  const profile = new Profile({ name: 'benched' });
  await profile.picture.save('benched.png', new ContentFile(png));
  return profile;
}

const png = new Uint8Array(await readFile(new URL('../fixtures/image.png', import.meta.url)));
const profile = await profiles(Number(rowsText), png);
const large = new Uint8Array(1024 * 1024).map((_, index) => index % 251);
const largeName = await storages.get('default').save('bench/large.bin', new ContentFile(large));

if (kind === 'express') {
  const { default: express } = await import('express');
  const app = express();
  // The server's own CPU time so far (µs), so the bench can tell the cost per request apart from the machine's load.
  app.get('/cpu', (_request, response) => {
    const { user, system } = process.cpuUsage();
    response.json(user + system);
  });
  app.use('/static', express.static(settings.MEDIA_ROOT));
  app.use(settings.MEDIA_URL!, mediaHandler());
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  console.log(JSON.stringify({
    origin,
    paths: {
      staticSmall: `/static/${profile.picture.name}`, mediaSmall: profile.picture.url,
      staticLarge: `/static/${largeName}`, mediaLarge: `/media/${largeName}`,
    },
  }));
} else {
  const running = await serve({ port: 0, host: '127.0.0.1', announce: false, models: [Profile] });
  console.log(JSON.stringify({ origin: running.url.replace(/\/$/, ''), paths: { mediaSmall: profile.picture.url } }));
}

// A normal exit on the parent's kill (so that --cpu-prof, when given, writes its profile).
process.once('SIGTERM', () => process.exit(0));
