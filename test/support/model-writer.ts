/**
 * A child process of test/models-processes.test.ts: saves `count` rows of Note (a ContentFile each) or
 * Picture (fixtures/4x8.png each) into the parent's DATABASE and MEDIA_ROOT, then prints "DONE <count>".
 *
 * argv: <settings JSON> <note|picture> <count> <tag>
 */
import { fileURLToPath } from 'node:url';
import { configure, ContentFile, File } from '../../src/index.ts';
import { Note, Picture, type ChildSettings } from './process-models.ts';

const [settingsJson, kind, countText, tag] = process.argv.slice(2);
if (!settingsJson || (kind !== 'note' && kind !== 'picture') || !countText || !tag) {
  throw new Error('usage: model-writer.ts <settings JSON> <note|picture> <count> <tag>');
}
await configure(JSON.parse(settingsJson) as ChildSettings);
const count = Number(countText);
const picturePath = fileURLToPath(new URL('../../fixtures/4x8.png', import.meta.url));

for (let index = 0; index < count; index++) {
  const title = `${tag}-${index}`;
  if (kind === 'note') {
    const note = new Note({ title });
    await note.file.save('note.txt', new ContentFile(title));
  } else {
    const picture = new Picture({ title });
    const file = await File.open(picturePath);
    try {
      await picture.image.save('picture.png', file);
    } finally {
      await file.close();
    }
  }
}
process.stdout.write(`DONE ${count}\n`);
