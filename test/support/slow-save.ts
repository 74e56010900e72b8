/**
 * Child process for test/storage-processes.test.ts: saves, under `name` in a FileSystemStorage at
 * `location`, a stream that produces 64 KiB every 5 ms and never ends, so the save is still running
 * when the parent kills it. Prints "started" once the save has begun.
 *
 *   node --import tsx test/support/slow-save.ts <location> <name>
 */
import { Readable } from 'node:stream';
import { File, FileSystemStorage } from '../../src/index.ts';

const [location, name] = process.argv.slice(2);
if (!location || !name) {
  console.error('usage: slow-save.ts <location> <name>');
  process.exit(2);
}

const piece = Buffer.alloc(64 * 1024, 0x73);
let timer: NodeJS.Timeout | undefined;
const slow = new Readable({
  read() {
    timer ??= setInterval(() => this.push(Buffer.from(piece)), 5);
  },
  destroy(error, callback) {
    clearInterval(timer);
    callback(error);
  },
});

const storage = new FileSystemStorage({ location });
const saving = storage.save(name, new File(slow));
process.stdout.write('started\n');
await saving;
process.stdout.write('finished\n');
