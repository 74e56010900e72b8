/**
 * uploadHandler() and fetchUploadHandler(): a multipart upload streamed into one file field of a new row,
 * with the upload page's limits and refusals, answered as JSON (201 with the row and the file's URL, 4xx
 * naming why) or, for a plain HTML form, a redirect.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FieldFile } from '../models/FieldFile.ts';
import type { Model, ModelClass } from '../models/Model.ts';
import { jsonAnswer, sendToNode, toWebResponse, type HttpAnswer } from './answer.ts';
import type { FetchHandler } from './media.ts';
import { receiveUpload, uploadOptionsFromSettings, valueFieldsOf, type IncomingUpload, type UploadForm } from './receiveUpload.ts';
import { loggedServiceProblemOf } from './problems.ts';
import { webBody, type NextFunction } from './requests.ts';

export interface UploadHandlerOptions<M extends Model = Model> {
  /** The file field the upload fills; the multipart part holding the file is named after it. */
  field: string;
  /** Other fields of the model the form may set, from text parts of the same names. Default: none. */
  fields?: readonly string[];
  /** After a successful upload, answer 303 to this location instead of 201 with JSON (for a plain HTML form). */
  redirect?: string | ((instance: M) => string);
}

export type NodeUploadHandler = (request: IncomingMessage, response: ServerResponse, next?: NextFunction) => Promise<void>;

function checkedForm(model: ModelClass, options: UploadHandlerOptions<any>): UploadForm {
  const fileFields = model.fileFields().map(([name]) => name);
  if (!fileFields.includes(options.field)) {
    throw new TypeError(`${model.name} has no file field '${options.field}' (file fields: ${fileFields.join(', ') || 'none'}).`);
  }
  const valueFields = valueFieldsOf(model).map(([name]) => name);
  for (const name of options.fields ?? []) {
    if (!valueFields.includes(name)) {
      throw new TypeError(`${model.name} has no field '${name}' that a form can set (fields: ${valueFields.join(', ') || 'none'}).`);
    }
  }
  return { model, fileFields: [options.field], valueFields: options.fields ?? [] };
}

/** The answer to an upload; an error that is the server's fault (not its state) is thrown, for the framework to handle. */
async function answerUpload(incoming: IncomingUpload, form: UploadForm, options: UploadHandlerOptions<any>): Promise<HttpAnswer> {
  try {
    const outcome = await receiveUpload(incoming, form, uploadOptionsFromSettings());
    if (!outcome.ok) {
      // A body left unread cannot be followed by another request on this connection.
      return jsonAnswer(outcome.status, { error: outcome.message }, outcome.closeConnection ? { Connection: 'close' } : {});
    }
    const { instance } = outcome;
    if (options.redirect !== undefined) {
      const location = typeof options.redirect === 'function' ? options.redirect(instance) : options.redirect;
      return { status: 303, headers: { Location: location, 'Content-Length': '0', 'Cache-Control': 'no-store' } };
    }
    const fieldFile = (instance as unknown as Record<string, FieldFile>)[options.field]!;
    return jsonAnswer(201, { row: rowAnswer(instance), url: fieldFile.url });
  } catch (error) {
    const problem = loggedServiceProblemOf(error);
    if (problem) return jsonAnswer(problem.status, { error: problem.message });
    throw error;
  }
}

/** A bug, not the client's fault nor the server's state: logged whole, answered without details. */
function internalError(error: unknown): HttpAnswer {
  console.error('filefield: error while receiving an upload', error);
  return jsonAnswer(500, { error: 'Internal server error: see the server output.' }, { Connection: 'close' });
}

/** Node middleware (Express, Connect, Fastify's raw request and reply) for `app.post(path, uploadHandler(Profile, { field: 'picture' }))`. */
export function uploadHandler<M extends Model>(model: ModelClass<M>, options: UploadHandlerOptions<M>): NodeUploadHandler {
  const form = checkedForm(model, options);
  return async (request, response, next) => {
    let answer: HttpAnswer;
    try {
      answer = await answerUpload({ headers: request.headers, body: request }, form, options);
    } catch (error) {
      if (next) return next(error);
      answer = internalError(error);
    }
    await sendToNode(answer, request.method, response);
  };
}

/** The same for web-standard servers (Hono, route handlers): the Request's body is streamed, never read whole. */
export function fetchUploadHandler<M extends Model>(model: ModelClass<M>, options: UploadHandlerOptions<M>): FetchHandler {
  const form = checkedForm(model, options);
  return async (request) => {
    const body = webBody(request);
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    let answer: HttpAnswer;
    try {
      answer = await answerUpload({ headers, body }, form, options);
    } catch (error) {
      answer = internalError(error);
    }
    return toWebResponse(answer, request.method);
  };
}

/** The saved row as the answer shows it: each field's value, a file as its name and what its save learned. */
function rowAnswer(instance: Model): Record<string, unknown> {
  const model = instance.constructor as ModelClass;
  const row: Record<string, unknown> = { id: instance.id };
  for (const [name, field] of Object.entries(model.fields)) {
    const value = (instance as unknown as Record<string, unknown>)[name];
    row[name] = field.holdsFile ? { name: (value as FieldFile).name, ...(value as FieldFile).metadata } : value;
  }
  return row;
}
