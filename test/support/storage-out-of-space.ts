/**
 * A child process of test/storage-names.test.ts, run inside its own mount namespace with a tiny tmpfs at the
 * folder it is given: it saves a file larger than the disk into a FileSystemStorage there, and prints (as
 * JSON) the error and every entry left in the folder.
 *
 * argv: <folder on the small tmpfs>
 */
import { readdirSync } from 'node:fs';
import { ContentFile, FileSystemStorage } from '../../src/index.ts';

const [folder] = process.argv.slice(2);
if (!folder) throw new Error('usage: storage-out-of-space.ts <folder>');
const storage = new FileSystemStorage({ location: folder });
let failure: { name: string; message: string; path?: unknown; code?: unknown } | null = null;
try {
  await storage.save('uploads/big.bin', new ContentFile(new Uint8Array(1024 * 1024)));
} catch (error) {
  const { name, message, path, code } = error as Error & { path?: unknown; code?: unknown };
  failure = { name, message, path, code };
}
process.stdout.write(JSON.stringify({ failure, files: readdirSync(folder, { recursive: true }).map(String).sort() }) + '\n');
