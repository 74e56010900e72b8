/**
 * Child process for test/storage-processes.test.ts: saves `count` files under the same `name` in a
 * FileSystemStorage at `location`, the i-th holding "<tag>-<i>", and prints the stored names as JSON.
 *
 *   node --import tsx test/support/save-many.ts <location> <name> <count> <tag>
 */
import { ContentFile, FileSystemStorage } from '../../src/index.ts';

const [location, name, countText, tag] = process.argv.slice(2);
if (!location || !name || !countText || !tag) {
  console.error('usage: save-many.ts <location> <name> <count> <tag>');
  process.exit(2);
}

const storage = new FileSystemStorage({ location });
const names: string[] = [];
for (let index = 0; index < Number(countText); index++) {
  names.push(await storage.save(name, new ContentFile(`${tag}-${index}`)));
}
process.stdout.write(JSON.stringify(names) + '\n');
