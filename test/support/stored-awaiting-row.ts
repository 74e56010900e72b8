/**
 * A child process of test/models-processes.test.ts that stores a file with `save: false` (as the upload page
 * does before it writes the row) and prints "STORED <name>". Then, by its last argument:
 * `hang` waits to be killed (the row is never written), `exit` ends the process cleanly without a row.
 *
 * argv: <settings JSON> <file name> <hang | exit>
 */
import { configure, ContentFile, FileField, Model, type FieldFile } from '../../src/index.ts';
import type { ChildSettings } from './process-models.ts';

/** The same table and field as the parent's Crash model, on the default storage (the same MEDIA_ROOT). */
class Crash extends Model {
  static override table = 'Crash';
  static override fields = { file: new FileField({ uploadTo: 'crash' }) };
  declare file: FieldFile;
}

const [settingsJson, fileName, mode] = process.argv.slice(2);
if (!settingsJson || !fileName || (mode !== 'hang' && mode !== 'exit')) {
  throw new Error('usage: stored-awaiting-row.ts <settings JSON> <file name> <hang | exit>');
}
await configure(JSON.parse(settingsJson) as ChildSettings);
const crash = new Crash();
await crash.file.save(fileName, new ContentFile(`stored by ${process.pid}`), { save: false });
process.stdout.write(`STORED ${crash.file.name}\n`);
if (mode === 'hang') setInterval(() => undefined, 60_000); // alive until killed
