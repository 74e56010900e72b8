/**
 * A child process of test/database.test.ts, run inside its own mount namespace with a tiny tmpfs mounted
 * at the MEDIA_ROOT it is given: saves a file larger than the disk through a model, and prints (as JSON)
 * the error, the files left under MEDIA_ROOT and the rows written.
 *
 * argv: <MEDIA_ROOT on the small tmpfs> <DATABASE elsewhere>
 */
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { configure, ContentFile } from '../../src/index.ts';
import { Note } from './process-models.ts';

const [mediaRoot, database] = process.argv.slice(2);
if (!mediaRoot || !database) throw new Error('usage: media-out-of-space.ts <MEDIA_ROOT> <DATABASE>');
await configure({ BASE_DIR: dirname(database), MEDIA_ROOT: mediaRoot, DATABASE: database });
let failure: { name: string; message: string; path?: unknown; code?: unknown } | null = null;
try {
  await Note.objects.create({ title: 'too big', file: new ContentFile(new Uint8Array(256 * 1024), 'big.bin') });
} catch (error) {
  const { name, message, path, code } = error as Error & { path?: unknown; code?: unknown };
  failure = { name, message, path, code };
}
const files = (readdirSync(mediaRoot, { recursive: true }) as string[]).sort();
process.stdout.write(JSON.stringify({ failure, files, rows: await Note.objects.count() }) + '\n');
