/**
 * A child process of test/models-processes.test.ts that is killed in the middle of a model save. Where it
 * stops, by its `hang-…` option (the parent kills it, SIGKILL, at that point):
 * - `hang-after-store` (the default): its storage writes the file, prints "STORED <name>", and never returns,
 *   so the row is never written;
 * - `hang-before-publish`: its storage reads every byte of the content, prints "READ <name>", and never
 *   writes anything under the name;
 * - `hang-before-store`: its storage prints "SAVING <name>" and never reads or writes anything.
 * With `late-race`, its storage's first getAvailableName() answers the name asked for even when it is taken,
 * as when another process takes it between the check and the write: the write finds it taken then.
 *
 * argv: <settings JSON> <file name to save> [option,option…]
 * Options: `wait`: print "READY" once loaded and save only when a line arrives on standard input (so the
 * parent can start the save at a moment of its choosing); `size=N`: save N bytes (default: a short text).
 */
import { configure, ContentFile, FileField, FileSystemStorage, Model, type FieldFile, type File } from '../../src/index.ts';
import type { ChildSettings } from './process-models.ts';

const [settingsJson, fileName, optionList = ''] = process.argv.slice(2);
if (!settingsJson || !fileName) throw new Error('usage: model-crash.ts <settings JSON> <file name> [option,option…]');
const options = new Set(optionList.split(',').filter(Boolean));
const hang = [...options].find((option) => option.startsWith('hang-')) ?? 'hang-after-store';
const size = Number([...options].find((option) => option.startsWith('size='))?.slice('size='.length) ?? 0);

function hangForEver(): Promise<never> {
  return new Promise<never>(() => {
    setInterval(() => undefined, 60_000); // keeps the process alive until it is killed
  });
}

class HangingStorage extends FileSystemStorage {
  private raced = false;

  override async getAvailableName(name: string, limits?: { maxLength?: number | null }): Promise<string> {
    if (options.has('late-race') && !this.raced) {
      this.raced = true;
      return name;
    }
    return super.getAvailableName(name, limits);
  }

  protected override async _save(name: string, content: File): Promise<string> {
    if (hang === 'hang-before-store') {
      process.stdout.write(`SAVING ${name}\n`);
      return hangForEver();
    }
    if (hang === 'hang-before-publish') {
      for await (const _chunk of content.chunks()) {
        // read to the end, as a backend does before it publishes
      }
      process.stdout.write(`READ ${name}\n`);
      return hangForEver();
    }
    const stored = await super._save(name, content);
    process.stdout.write(`STORED ${stored}\n`);
    return hangForEver();
  }
}

/** The same table and field as the parent's Crash model; only the storage differs (same MEDIA_ROOT). */
class Crash extends Model {
  static override table = 'Crash';
  static override fields = { file: new FileField({ uploadTo: 'crash', storage: new HangingStorage() }) };
  declare file: FieldFile;
}

await configure(JSON.parse(settingsJson) as ChildSettings);
if (options.has('wait')) {
  process.stdout.write('READY\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.pause();
}
const content = size > 0 ? new ContentFile(new Uint8Array(size).fill(0x61)) : new ContentFile(`written by ${process.pid}`);
await new Crash().file.save(fileName, content);
process.stdout.write('SAVED (the storage should have hung)\n');
