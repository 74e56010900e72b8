/**
 * A child process of test/models-sql-processes.test.ts: one "machine" sharing a database (SQLite file or
 * PostgreSQL) and a storage (MEDIA_ROOT or an S3 bucket) with others. By its mode:
 * - `write <count> <tag>`: saves `count` Note rows (a ContentFile each, all named note.txt), then prints
 *   "DONE <count>";
 * - `crash <file name>`: saves a Crash row whose storage writes the file, prints "STORED <name>" and never
 *   returns (the parent kills it, SIGKILL, before the row is written);
 * - `awaiting <file name> <hang|exit>`: stores a file with `save: false`, prints "STORED <name>", then hangs
 *   or exits cleanly without writing the row.
 *
 * argv: <settings JSON> <mode> <arguments…>
 */
import { configure, ContentFile, FileField, FileSystemStorage, Model, storages, type FieldFile, type File, type SettingsInput, type Storage } from '../../src/index.ts';
import { Note } from './process-models.ts';

const [settingsJson, mode, ...rest] = process.argv.slice(2);
if (!settingsJson || !mode) throw new Error('usage: sql-child.ts <settings JSON> <write|crash|awaiting> …');
await configure(JSON.parse(settingsJson) as SettingsInput);

function hangForEver(): Promise<never> {
  return new Promise<never>(() => {
    setInterval(() => undefined, 60_000); // keeps the process alive until it is killed
  });
}

/** The default storage's class, made to hang once it has stored a file (its backend call returned). */
async function hangingStorage(): Promise<Storage> {
  const defaultStorage = storages.get('default');
  const base = defaultStorage instanceof FileSystemStorage ? FileSystemStorage : (await import('../../src/storage/s3/index.ts')).S3Storage;
  const options = (JSON.parse(settingsJson!) as { STORAGES?: { default?: { OPTIONS?: object } } }).STORAGES?.default?.OPTIONS ?? {};
  class Hanging extends (base as typeof FileSystemStorage) {
    protected override async _save(name: string, content: File): Promise<string> {
      const stored = await super._save(name, content);
      process.stdout.write(`STORED ${stored}\n`);
      return hangForEver();
    }
  }
  return new Hanging(options as never);
}

if (mode === 'write') {
  const [countText, tag] = rest;
  const count = Number(countText);
  for (let index = 0; index < count; index++) {
    const note = new Note({ title: `${tag}-${index}` });
    await note.file.save('note.txt', new ContentFile(note.title));
  }
  process.stdout.write(`DONE ${count}\n`);
} else if (mode === 'crash') {
  const storage = await hangingStorage();
  class Crash extends Model {
    static override table = 'Crash';
    static override fields = { file: new FileField({ uploadTo: 'crash', storage }) };
    declare file: FieldFile;
  }
  await new Crash().file.save(rest[0]!, new ContentFile(`written by ${process.pid}`));
} else if (mode === 'awaiting') {
  class Crash extends Model {
    static override table = 'Crash';
    static override fields = { file: new FileField({ uploadTo: 'crash' }) };
    declare file: FieldFile;
  }
  const crash = new Crash();
  await crash.file.save(rest[0]!, new ContentFile(`stored by ${process.pid}`), { save: false });
  process.stdout.write(`STORED ${crash.file.name}\n`);
  if (rest[1] === 'hang') await hangForEver();
} else {
  throw new Error(`unknown mode ${mode}`);
}
