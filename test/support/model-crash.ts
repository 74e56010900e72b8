/**
 * A child process of test/models-processes.test.ts that is killed in the middle of a model save: its
 * storage writes the file, prints "STORED <name>", and then never returns, so the row is never written.
 * The parent kills it (SIGKILL) at that point.
 *
 * argv: <settings JSON> <file name to save> [wait]
 * With `wait`, it prints "READY" once loaded and saves only when a line arrives on its standard input, so the
 * parent can start the save at a moment of its choosing.
 */
import { configure, ContentFile, FileField, FileSystemStorage, Model, type FieldFile, type File } from '../../src/index.ts';
import type { ChildSettings } from './process-models.ts';

class StoreThenHang extends FileSystemStorage {
  protected override async _save(name: string, content: File): Promise<string> {
    const stored = await super._save(name, content);
    process.stdout.write(`STORED ${stored}\n`);
    return new Promise<string>(() => {
      setInterval(() => undefined, 60_000); // keeps the process alive until it is killed
    });
  }
}

/** The same table and field as the parent's Crash model; only the storage differs (same MEDIA_ROOT). */
class Crash extends Model {
  static override table = 'Crash';
  static override fields = { file: new FileField({ uploadTo: 'crash', storage: new StoreThenHang() }) };
  declare file: FieldFile;
}

const [settingsJson, fileName, wait] = process.argv.slice(2);
if (!settingsJson || !fileName) throw new Error('usage: model-crash.ts <settings JSON> <file name> [wait]');
await configure(JSON.parse(settingsJson) as ChildSettings);
if (wait === 'wait') {
  process.stdout.write('READY\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.pause();
}
await new Crash().file.save(fileName, new ContentFile(`written by ${process.pid}`));
process.stdout.write('SAVED (the storage should have hung)\n');
