/**
 * An upload's multipart body (the upload page's form, uploadHandler's), streamed through busboy straight
 * into the model's file fields, with limits on every part. Files are stored as they arrive and the row is written once all parts were
 * accepted; when anything is refused, the files already stored for this request are deleted again, so
 * nothing refused is kept: no file, no row. Until the row is written, the stored files are in the upload
 * journal, so a server killed mid-request leaves no orphan either (the next save sweeps it).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import busboy from 'busboy';
import { settings } from '../conf/settings.ts';
import { FileTooLarge, SuspiciousOperation, ValidationError } from '../errors.ts';
import { File, formatBytes } from '../files/File.ts';
import type { FieldFile } from '../models/FieldFile.ts';
import { Field } from '../models/fields.ts';
import { FileField } from '../models/FileField.ts';
import type { Model, ModelClass } from '../models/Model.ts';

/** The upload size limit when FILE_UPLOAD_MAX_SIZE is not set: a dev server should not fill the disk by accident. */
export const DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024;
/** Room for the text fields and multipart headers on top of the files themselves. */
const FORM_OVERHEAD_LIMIT = 1024 * 1024;
const FIELD_VALUE_LIMIT = 64 * 1024;
const FILE_NAME_LIMIT = 255;
const SPARE_FIELDS = 4;

export type RefusalStatus = 400 | 408 | 413;

export type UploadOutcome =
  | { ok: true; instance: Model }
  | {
      ok: false;
      status: RefusalStatus;
      message: string;
      /** The text the user typed, to fill the form in again. */
      values: Record<string, string>;
      /** The body was not read to its end: the connection must be closed after the answer. */
      closeConnection: boolean;
    };

class UploadRefused extends Error {
  constructor(readonly status: RefusalStatus, message: string) {
    super(message);
  }
}

/** Counts the bytes of one file part and fails the stream as soon as it passes the limit. */
class ByteLimit extends Transform {
  private seen = 0;

  constructor(private readonly limit: number, private readonly fieldName: string) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.byteLength;
    if (this.seen > this.limit) callback(tooLarge(this.fieldName, this.limit));
    else callback(null, chunk);
  }
}

function tooLarge(fieldName: string, limit: number): UploadRefused {
  return new UploadRefused(413, `${fieldName}: The file is too large; the limit is ${formatBytes(limit)}.`);
}

/**
 * The name part of what the client called its file. Like Django's UploadedFile, only the last path
 * component counts (a browser sends no folders, anyone else may send anything), control characters go,
 * and the length is capped with the extension kept.
 */
export function clientFileName(given: string): string | null {
  const lastPart = given.slice(Math.max(given.lastIndexOf('/'), given.lastIndexOf('\\')) + 1);
  let name = lastPart.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  const characters = Array.from(name);
  if (characters.length > FILE_NAME_LIMIT) {
    const dot = name.lastIndexOf('.');
    const extension = dot > 0 ? Array.from(name.slice(dot)).slice(0, 16) : [];
    name = characters.slice(0, FILE_NAME_LIMIT - extension.length).join('') + extension.join('');
  }
  return name === '' || name === '.' || name === '..' ? null : name;
}

/** The refusal to show for an error, or null for an error that is the server's fault (shown as a 500). */
function refusalOf(error: unknown): UploadRefused | null {
  if (error instanceof UploadRefused) return error;
  if (error instanceof FileTooLarge) return new UploadRefused(413, error.message);
  if (error instanceof ValidationError) return new UploadRefused(400, error.message);
  if (error instanceof SuspiciousOperation) return new UploadRefused(400, 'The file name is not acceptable.');
  return null;
}

/** The fields a form fills with text (everything but files). */
export function valueFieldsOf(model: ModelClass): [string, Field][] {
  return Object.entries(model.fields).filter(([, field]) => field instanceof Field && !(field instanceof FileField));
}

/** What a form may set: some of the model's file fields, some of its other fields. */
export interface UploadForm {
  model: ModelClass;
  fileFields: readonly string[];
  valueFields: readonly string[];
}

/** A form for every field of the model (the upload page's). */
export function wholeModelForm(model: ModelClass): UploadForm {
  return { model, fileFields: model.fileFields().map(([name]) => name), valueFields: valueFieldsOf(model).map(([name]) => name) };
}

export interface UploadOptions {
  /** The largest file accepted, in bytes. */
  fileSizeLimit: number;
  /** A body that sends nothing for this long (ms) is refused and its connection closed. */
  idleTimeout: number;
}

/** A request body and its headers, from a Node request or a web Request turned into a stream. */
export interface IncomingUpload {
  headers: IncomingHttpHeaders;
  body: Readable;
}

/** Reads the multipart body into a new instance of the form's model, and saves it if everything was accepted. */
export async function receiveUpload(request: IncomingUpload, form: UploadForm, options: UploadOptions): Promise<UploadOutcome> {
  const { model } = form;
  const fileFields = new Map(model.fileFields().filter(([name]) => form.fileFields.includes(name)));
  const valueFields = new Map(valueFieldsOf(model).filter(([name]) => form.valueFields.includes(name)));
  const bodyLimit = options.fileSizeLimit * fileFields.size + FORM_OVERHEAD_LIMIT;
  const values: Record<string, string> = {};
  const refuse = (refusal: UploadRefused, closeConnection = false): UploadOutcome =>
    ({ ok: false, status: refusal.status, message: refusal.message, values, closeConnection });

  const bodyTooLargeRefusal = new UploadRefused(413, `The upload is too large; the limit is ${formatBytes(options.fileSizeLimit)} per file.`);
  const declaredLength = Number(request.headers['content-length'] ?? NaN);
  if (declaredLength > bodyLimit) return refuse(bodyTooLargeRefusal, true);

  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: request.headers,
      // Browsers send file names as raw UTF-8; busboy would read them as Latin-1 otherwise.
      defParamCharset: 'utf8',
      limits: {
        // One byte over the limit, so that ByteLimit sees the excess and refuses instead of storing a truncated file.
        fileSize: options.fileSizeLimit + 1,
        files: fileFields.size,
        // A few spare, so that a stray field is named in the refusal rather than merely counted.
        fields: valueFields.size + SPARE_FIELDS,
        fieldSize: FIELD_VALUE_LIMIT,
        // busboy signals this limit on reaching it, not on passing it: one more than the form may hold.
        parts: fileFields.size + valueFields.size + SPARE_FIELDS + 1,
        headerPairs: 16,
      },
    });
  } catch {
    return refuse(new UploadRefused(400, 'The upload must be sent as multipart/form-data.'), true);
  }

  const instance = new model();
  const stored: FieldFile[] = [];
  const filesReceived = new Set<string>();
  let refusal: UploadRefused | null = null;
  let unexpected: { error: unknown } | null = null;
  const fail = (error: unknown): void => {
    if (refusal || unexpected) return;
    refusal = refusalOf(error);
    if (!refusal) unexpected = { error };
  };
  // Parts are handled one after another, in the order they came, so a file's save never races the next part.
  let work: Promise<void> = Promise.resolve();
  const enqueue = (step: () => Promise<void> | void): void => {
    work = work.then(async () => {
      if (refusal || unexpected) return;
      try {
        await step();
      } catch (error) {
        fail(error);
      }
    });
  };

  parser.on('field', (name, value, info) => {
    enqueue(() => {
      if (!valueFields.has(name)) throw new UploadRefused(400, unexpectedField(model, name));
      if (info.valueTruncated) throw new UploadRefused(400, `${name}: The value is too long.`);
      values[name] = value;
      try {
        instance.setFieldValue(name, value);
      } catch (error) {
        // A value of the wrong kind for its field (a word in a number field) is the user's to fix.
        if (error instanceof TypeError) throw new UploadRefused(400, error.message);
        throw error;
      }
    });
  });

  parser.on('file', (name, stream: Readable, info) => {
    let limited: ByteLimit | null = null;
    let streamError: Error | null = null;
    // busboy fails the part's stream when the body breaks off; the save reading it must fail too.
    stream.on('error', (error) => {
      streamError = error;
      limited?.destroy(error);
    });
    const drain = (): void => {
      stream.resume(); // discard the rest of the part so that busboy moves on
    };
    const field = fileFields.get(name);
    if (refusal || unexpected || !field) {
      drain();
      if (!field) fail(new UploadRefused(400, unexpectedField(model, name, 'file ')));
      return;
    }
    if (filesReceived.has(name)) {
      drain();
      fail(new UploadRefused(400, `${name}: Send one file only.`));
      return;
    }
    filesReceived.add(name);
    if (!info.filename) {
      // The browser sends an empty part when no file was chosen: the field stays empty.
      drain();
      return;
    }
    const fileName = clientFileName(info.filename);
    const brokenOff = (): UploadRefused => new UploadRefused(400, `${name}: The upload broke off: ${sentence(streamError!.message)}`);
    enqueue(async () => {
      // A stream that failed before its turn would never end: piping it would wait for ever.
      if (streamError) throw brokenOff();
      limited = new ByteLimit(options.fileSizeLimit, name);
      // Only pipe: destroying busboy's own stream would keep it from ever finishing.
      stream.pipe(limited);
      try {
        if (fileName === null) throw new UploadRefused(400, `${name}: The file name is not acceptable.`);
        const fieldFile = (instance as unknown as Record<string, FieldFile>)[name]!;
        await fieldFile.save(fileName, new File(limited, fileName), { save: false });
        stored.push(fieldFile);
      } catch (error) {
        // The client's request failing mid-file is the client's problem, not a server error.
        throw streamError && !(error instanceof UploadRefused) ? brokenOff() : error;
      } finally {
        stream.unpipe(limited);
        limited.destroy();
        drain();
      }
    });
    // When an earlier part failed, the step above is skipped, and this part must still be read past.
    work = work.then(() => {
      if (refusal || unexpected) drain();
    });
  });

  parser.on('filesLimit', () => fail(new UploadRefused(400, 'Send one file per file field.')));
  parser.on('fieldsLimit', () => fail(new UploadRefused(400, 'The form has more fields than the model.')));
  parser.on('partsLimit', () => fail(new UploadRefused(400, 'The form has more parts than the model has fields.')));

  const parsed = new Promise<void>((resolve) => {
    parser.once('close', resolve);
    parser.once('error', (error) => {
      fail(new UploadRefused(400, `The form data could not be read: ${sentence((error as Error).message)}`));
      resolve();
    });
  });

  const { body } = request;
  let received = 0;
  let ended = false;
  let bodyStopped = false;
  const stopReading = (refusal: UploadRefused): void => {
    if (bodyStopped) return;
    bodyStopped = true;
    fail(refusal);
    body.unpipe(parser);
    parser.destroy(new Error(refusal.message));
  };
  const idleTimer = setTimeout(function idle() {
    // Paused, the body waits for our save (a slow storage), not for the client.
    if (body.readableFlowing === false) idleTimer.refresh();
    else stopReading(idleRefusal(options.idleTimeout));
  }, options.idleTimeout);
  body.on('data', (chunk: Buffer) => {
    idleTimer.refresh();
    received += chunk.byteLength;
    if (received > bodyLimit) stopReading(bodyTooLargeRefusal);
  });
  body.once('end', () => {
    ended = true;
    clearTimeout(idleTimer);
  });
  // A broken body (a web stream cancelled, a socket reset) is a client gone away, not a crash.
  body.on('error', () => undefined);
  body.once('close', () => {
    clearTimeout(idleTimer);
    if (!ended) parser.destroy(new Error('The client went away.'));
  });
  body.pipe(parser);

  try {
    await parsed;
    await work;
  } finally {
    clearTimeout(idleTimer);
  }

  const failure = unexpected as { error: unknown } | null;
  const refused = refusal as UploadRefused | null;
  if (failure || refused) {
    await deleteStored(stored);
    if (failure) throw failure.error;
    return refuse(refused!, bodyStopped);
  }
  try {
    instance.fullClean();
    await instance.save();
  } catch (error) {
    await deleteStored(stored);
    const refusedAtSave = refusalOf(error);
    if (!refusedAtSave) throw error;
    return refuse(refusedAtSave);
  }
  return { ok: true, instance };
}

function unexpectedField(model: ModelClass, name: string, kind = ''): string {
  return name in model.fields ? `${name}: This form does not set this field.` : `${model.name} has no ${kind}field '${name}'.`;
}

function idleRefusal(timeout: number): UploadRefused {
  return new UploadRefused(408, `The upload sent nothing for ${timeout / 1000} s and was dropped.`);
}

/** busboy's messages end with or without a full stop; ours always end with exactly one. */
function sentence(message: string): string {
  return message.endsWith('.') ? message : `${message}.`;
}

async function deleteStored(stored: readonly FieldFile[]): Promise<void> {
  for (const fieldFile of stored) await fieldFile.delete({ save: false }).catch(() => undefined);
}

/** FILE_UPLOAD_MAX_SIZE, or the handlers' own default when the project sets none. */
export function uploadSizeLimit(): number {
  return settings.FILE_UPLOAD_MAX_SIZE ?? DEFAULT_UPLOAD_LIMIT;
}

/** The limits of the current settings. */
export function uploadOptionsFromSettings(): UploadOptions {
  return { fileSizeLimit: uploadSizeLimit(), idleTimeout: settings.REQUEST_IDLE_TIMEOUT * 1000 };
}
