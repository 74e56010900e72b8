/**
 * Runs a format's structure parser over bytes that arrive in pieces, holding only what the parser asks to
 * see at once (a chunk header, a table), never the file: the parser is a generator that yields what it needs
 * next and gets it back when the bytes are there. Time is linear in the file's size; memory is bounded by
 * MAX_FIELD_BYTES whatever the file holds.
 */
import { concatBytes } from './File.ts';

/** The most a parser may ask to see at once. */
export const MAX_FIELD_BYTES = 1024 * 1024;
/**
 * The most steps (chunks, segments, blocks…) a walk may take: far more than any real image has, and few
 * enough that a file made of millions of tiny chunks is refused within a second or two rather than walked.
 */
export const MAX_STEPS = 1_000_000;

export type Need =
  /** Exactly this many bytes, handed back as one array (fewer only if the parser ends the walk). */
  | number
  /** Pass over this many bytes, showing each piece to `each` (for a checksum) if given. */
  | { skip: number; each?: (piece: Uint8Array) => void }
  /**
   * Pass over bytes until `scan` finds where its run ends: it returns how many bytes of the piece belong to
   * the run (the rest is handed to what the parser asks next), or 'more' when all of them do.
   */
  | { scan: (piece: Uint8Array) => number | 'more' };

/** What the parser says about where it is, for the message when the bytes end too soon. */
export interface WalkState {
  /** Bytes consumed so far. */
  position: number;
  /** Where the parser is, in words ("IDAT", "the image data"), for "ends inside …". */
  inside: string;
  /**
   * Set by a parser whose format may end where it is now (between the boxes of an ISO file): the bytes
   * ending there are no truncation, once `checkEnd` (if any) has found the whole file well formed.
   */
  endable?: boolean;
  checkEnd?: () => void;
}

/** A structure problem; `message` names what was found, as "truncated PNG: ends inside IDAT". */
export class StructureError extends Error {
  override name = 'StructureError';
}

export type StructureParser = (state: WalkState) => Generator<Need, void, Uint8Array>;

export class StructureWalker {
  readonly state: WalkState = { position: 0, inside: 'the header' };
  private readonly parser: Generator<Need, void, Uint8Array>;
  private need: Need | null;
  private skipLeft = 0;
  private readonly held: Uint8Array[] = [];
  private heldLength = 0;
  private finished = false;
  private steps = 0;

  constructor(parse: StructureParser, private readonly formatName: string) {
    this.parser = parse(this.state);
    this.need = this.advance(new Uint8Array(0));
  }

  /** Whether the parser has seen the whole structure (the rest of the bytes, if any, is ignored). */
  get done(): boolean {
    return this.finished;
  }

  /** Feeds the next piece; throws StructureError as soon as the structure is wrong. */
  push(piece: Uint8Array): void {
    let offset = 0;
    while (!this.finished && offset < piece.byteLength) {
      const need = this.need!;
      if (typeof need === 'number') {
        if (this.heldLength === 0 && piece.byteLength - offset >= need) {
          // The usual case: all of it in this piece, handed over without a copy.
          this.state.position += need;
          offset += need;
          this.need = this.advance(piece.subarray(offset - need, offset));
          continue;
        }
        const take = Math.min(need - this.heldLength, piece.byteLength - offset);
        this.held.push(piece.subarray(offset, offset + take));
        this.heldLength += take;
        offset += take;
        this.state.position += take;
        if (this.heldLength === need) this.need = this.advance(this.takeHeld());
      } else if ('skip' in need) {
        const take = Math.min(this.skipLeft, piece.byteLength - offset);
        need.each?.(piece.subarray(offset, offset + take));
        this.skipLeft -= take;
        offset += take;
        this.state.position += take;
        if (this.skipLeft === 0) this.need = this.advance(new Uint8Array(0));
      } else {
        const rest = piece.subarray(offset);
        const found = need.scan(rest);
        const take = found === 'more' ? rest.byteLength : found;
        offset += take;
        this.state.position += take;
        if (found !== 'more') this.need = this.advance(new Uint8Array(0));
      }
    }
  }

  /** The bytes have ended: throws StructureError if the structure had not. */
  end(): void {
    if (this.finished) return;
    if (this.state.endable && this.heldLength === 0 && this.skipLeft === 0) {
      this.state.checkEnd?.();
      return;
    }
    throw new StructureError(`truncated ${this.formatName}: ends inside ${this.state.inside}`);
  }

  private takeHeld(): Uint8Array {
    const bytes = concatBytes(this.held);
    this.held.length = 0;
    this.heldLength = 0;
    return bytes;
  }

  /** Resumes the parser with `value` and returns what it needs next (null once it is done). */
  private advance(value: Uint8Array): Need | null {
    if (++this.steps > MAX_STEPS) throw new StructureError(`corrupt ${this.formatName}: more than ${MAX_STEPS} parts`);
    for (;;) {
      let result: IteratorResult<Need, void>;
      try {
        result = this.parser.next(value);
      } catch (error) {
        if (error instanceof StructureError) throw error;
        throw new StructureError(`corrupt ${this.formatName}: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (result.done) {
        this.finished = true;
        return null;
      }
      const need = result.value;
      if (typeof need === 'number') {
        if (!Number.isSafeInteger(need) || need < 0 || need > MAX_FIELD_BYTES) {
          throw new StructureError(`corrupt ${this.formatName}: a field of ${need} bytes in ${this.state.inside}`);
        }
        if (need === 0) {
          value = new Uint8Array(0);
          continue;
        }
      } else if ('skip' in need) {
        if (!Number.isSafeInteger(need.skip) || need.skip < 0) throw new StructureError(`corrupt ${this.formatName}: a length of ${need.skip} in ${this.state.inside}`);
        if (need.skip === 0) {
          value = new Uint8Array(0);
          continue;
        }
        this.skipLeft = need.skip;
      }
      return need;
    }
  }
}
