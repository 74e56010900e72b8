/**
 * A child process of test/database.test.ts, run inside its own mount namespace with a tiny tmpfs mounted
 * at the folder it is given: it adds rows to a database there until the disk is full, and prints (as JSON)
 * the error that stopped it, the rows the database still holds and the files left in the folder once the
 * database is closed (a process's lock identity file lives as long as it uses the database).
 *
 * argv: <folder on the small tmpfs> <MEDIA_ROOT elsewhere>
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CharField, configure, Model } from '../../src/index.ts';
import { closeActiveDatabase } from '../../src/models/activeDatabase.ts';

class Entry extends Model {
  static override table = 'Entry';
  static override fields = { text: new CharField() };
  declare text: string;
}

const [folder, mediaRoot] = process.argv.slice(2);
if (!folder || !mediaRoot) throw new Error('usage: db-out-of-space.ts <folder> <MEDIA_ROOT>');
await configure({ BASE_DIR: folder, MEDIA_ROOT: mediaRoot, DATABASE: join(folder, 'db.json') });
let saved = 0;
let failure: { name: string; message: string; path?: unknown; code?: unknown } | null = null;
while (failure === null && saved < 10_000) {
  try {
    await Entry.objects.create({ text: 'x'.repeat(2000) });
    saved++;
  } catch (error) {
    const { name, message, path, code } = error as Error & { path?: unknown; code?: unknown };
    failure = { name, message, path, code };
  }
}
const rowsAfter = await Entry.objects.count();
await closeActiveDatabase();
process.stdout.write(JSON.stringify({ saved, failure, rowsAfter, files: readdirSync(folder).sort() }) + '\n');
