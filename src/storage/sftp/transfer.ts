/**
 * Streaming file transfers over SFTP with several requests in flight.
 *
 * SFTP answers each READ and WRITE separately, and ssh2's own streams wait for each answer before sending
 * the next request, so their speed is one piece per round trip: a few hundred KiB/s to a server 50 ms away.
 * Here up to `inFlight` pieces travel at once, in order, with memory bounded by inFlight × pieceSize.
 */
import { Readable } from 'node:stream';
import type { SFTPWrapper } from 'ssh2';

/** Pieces in flight at once (16 × 255 KiB with OpenSSH: about 4 MiB held per transfer). */
const IN_FLIGHT = 16;
/** Without the server's limits (limits@openssh.com), the size every SFTP server must accept. */
const SAFE_PIECE_SIZE = 32 * 1024;
const LARGEST_PIECE_SIZE = 1024 * 1024;

/**
 * The largest piece the server takes in one request. ssh2 learns it from the limits@openssh.com extension
 * but has no public accessor for it; a larger piece would still work (ssh2 splits it) but one part at a time.
 */
export function pieceSizeFor(sftp: SFTPWrapper, kind: 'read' | 'write'): number {
  const limit = (sftp as unknown as Record<string, unknown>)[kind === 'read' ? '_maxReadLen' : '_maxWriteLen'];
  return typeof limit === 'number' && limit > 0 ? Math.min(limit, LARGEST_PIECE_SIZE) : SAFE_PIECE_SIZE;
}

/**
 * Sends one request on the channel, failing at once when the channel is no longer open: ssh2 then keeps the
 * request's callback but never sends it, so it would wait for ever (requests pending when the channel closes
 * are failed by ssh2 itself, "No response from server").
 */
function sent<T>(sftp: SFTPWrapper, send: (resolve: (value: T) => void, reject: (error: Error) => void) => void): Promise<T> {
  if ((sftp as unknown as { outgoing?: { state?: string } }).outgoing?.state !== 'open') {
    return Promise.reject(Object.assign(new Error('No SFTP connection: the channel is closed'), { code: 'ERR_NOT_CONNECTED' }));
  }
  return new Promise<T>(send);
}

function openHandle(sftp: SFTPWrapper, path: string, flags: 'r' | 'wx', mode?: number): Promise<Buffer> {
  return sent(sftp, (resolve, reject) => {
    const done = (error: Error | undefined, handle: Buffer) => (error ? reject(error) : resolve(handle));
    if (mode === undefined) sftp.open(path, flags, done);
    else sftp.open(path, flags, { mode }, done);
  });
}

function closeHandle(sftp: SFTPWrapper, handle: Buffer): Promise<void> {
  return sent(sftp, (resolve, reject) => sftp.close(handle, (error) => (error ? reject(error) : resolve())));
}

function writeAt(sftp: SFTPWrapper, handle: Buffer, data: Buffer, position: number): Promise<void> {
  return sent(sftp, (resolve, reject) => {
    sftp.write(handle, data, 0, data.byteLength, position, (error) => (error ? reject(error) : resolve()));
  });
}

/** Reads `length` bytes at `position`, fewer only at the end of the file. */
async function readAt(sftp: SFTPWrapper, handle: Buffer, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const bytesRead = await sent<number>(sftp, (resolve, reject) => {
      sftp.read(handle, buffer, filled, length - filled, position + filled, (error, count) => (error ? reject(error) : resolve(count)));
    });
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === length ? buffer : buffer.subarray(0, filled);
}

/**
 * Creates `path` (failing if it exists) with `mode` and writes the chunks into it. A failure of the chunks
 * (the content's source) or of a write is thrown once the writes already sent have been answered and the
 * handle is closed; the caller removes the file.
 */
export async function writeNewFile(sftp: SFTPWrapper, path: string, mode: number, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  const handle = await openHandle(sftp, path, 'wx', mode);
  const pending = new Set<Promise<void>>();
  let writeFailure: unknown;
  let position = 0;
  try {
    for await (const chunk of chunks) {
      if (writeFailure !== undefined) break;
      const data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      const write: Promise<void> = writeAt(sftp, handle, data, position).then(
        () => void pending.delete(write),
        (error: unknown) => {
          pending.delete(write);
          writeFailure ??= error;
        },
      );
      pending.add(write);
      position += data.byteLength;
      while (pending.size >= IN_FLIGHT) await Promise.race(pending);
    }
    await Promise.all(pending);
  } catch (error) {
    await Promise.all(pending);
    await closeHandle(sftp, handle).catch(() => undefined);
    throw error;
  }
  if (writeFailure !== undefined) {
    await closeHandle(sftp, handle).catch(() => undefined);
    throw writeFailure;
  }
  // A failed close can mean lost data (a full disk on some servers): it fails the save.
  await closeHandle(sftp, handle);
}

/**
 * A Readable of the first `size` bytes of `path`, read ahead in pieces. `onClose` runs once, when the stream
 * ends, fails or is destroyed.
 */
export function readStream(sftp: SFTPWrapper, path: string, size: number, onClose: () => void): Readable {
  const pieceSize = pieceSizeFor(sftp, 'read');
  const queue: Array<Promise<Buffer>> = [];
  let handle: Promise<Buffer> | null = null;
  let nextPosition = 0;
  let closed = false;
  const finish = () => {
    if (closed) return;
    closed = true;
    onClose();
  };

  return new Readable({
    async read() {
      try {
        handle ??= openHandle(sftp, path, 'r');
        const opened = await handle;
        while (queue.length < IN_FLIGHT && nextPosition < size) {
          const piece = readAt(sftp, opened, nextPosition, Math.min(pieceSize, size - nextPosition));
          piece.catch(() => undefined); // awaited in order below; a stream destroyed early never awaits it
          queue.push(piece);
          nextPosition += pieceSize;
        }
        const next = queue.shift();
        if (next === undefined) {
          this.push(null);
          return;
        }
        const data = await next;
        // A file that shrank since its size was read ends early.
        if (data.byteLength === 0) this.push(null);
        else this.push(data);
      } catch (error) {
        this.destroy(error as Error);
      }
    },
    destroy(error, callback) {
      const opened = handle;
      const release = () => {
        finish();
        callback(error);
      };
      if (opened === null) {
        release();
        return;
      }
      opened.then((value) => closeHandle(sftp, value)).catch(() => undefined).then(release);
    },
  });
}
