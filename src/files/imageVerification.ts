/**
 * ImageField's check of the whole file, done while the bytes stream to the storage: the content handed to
 * the storage is walked as it is read (imageStructure.ts), and its last piece is handed over only once the
 * walk found the image whole, so a broken image fails the storage's write before the file can appear.
 */
import { ValidationError } from '../errors.ts';
import { File } from './File.ts';
import { INVALID_IMAGE_SENTENCE } from './imageInspection.ts';
import { STRUCTURE_PARSERS } from './imageStructure.ts';
import { StructureError, StructureWalker } from './structureWalker.ts';

function refusal(format: string, error: StructureError): ValidationError {
  return new ValidationError(`${INVALID_IMAGE_SENTENCE} It is a ${error.message}.`, {
    code: 'invalid_image',
    params: { found: format, problem: error.message },
  });
}

/** A walk over `format`'s structure, fed piece by piece; throws ValidationError when the image is not whole. */
export class ImageStructureCheck {
  private readonly walker: StructureWalker | null;

  constructor(private readonly format: string) {
    const parser = STRUCTURE_PARSERS[format];
    this.walker = parser ? new StructureWalker(parser.parse, parser.name) : null; // SVG is text: nothing to walk
  }

  push(piece: Uint8Array): void {
    this.guard(() => this.walker?.push(piece));
  }

  end(): void {
    this.guard(() => this.walker?.end());
  }

  private guard(step: () => void): void {
    try {
      step();
    } catch (error) {
      throw error instanceof StructureError ? refusal(this.format, error) : error;
    }
  }
}

/** Checks a whole image (from its chunks) as an ImageField does before storing it. */
export async function verifyImageStructure(format: string, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  const check = new ImageStructureCheck(format);
  for await (const piece of chunks) check.push(piece);
  check.end();
}

/**
 * The content an ImageField hands to the storage: the same bytes, checked as they are read. `failure` keeps
 * the refusal, for the field to report as such even if a storage wraps the error its read threw.
 */
export class StructureCheckedFile extends File {
  failure: ValidationError | null = null;

  constructor(
    private readonly inner: File,
    private readonly format: string,
    private readonly asFieldError: (error: ValidationError) => ValidationError = (error) => error,
  ) {
    super(inner);
  }

  override peekStart(length: number): Promise<Uint8Array> {
    return this.inner.peekStart(length);
  }

  override async *chunks(chunkSize?: number): AsyncGenerator<Uint8Array, void, undefined> {
    const check = new ImageStructureCheck(this.format);
    // One piece is held back, so that the last one is handed over only after the check of the end.
    let held: Uint8Array | undefined;
    for await (const piece of this.inner.chunks(chunkSize)) {
      if (held) yield held;
      this.checked(() => check.push(piece));
      held = piece;
    }
    this.checked(() => check.end());
    if (held) yield held;
  }

  private checked(step: () => void): void {
    try {
      step();
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      this.failure = this.asFieldError(error);
      throw this.failure;
    }
  }
}
