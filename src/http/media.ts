/**
 * mediaHandler() and fetchMediaHandler(): MEDIA_URL served from a storage, as Node middleware (Express,
 * Connect, Fastify's raw request and reply, `filefield serve`) and as a web-standard (Request) => Response.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { settings } from '../conf/settings.ts';
import { modelRegistry, type ModelClass } from '../models/Model.ts';
import { storages } from '../storage/handler.ts';
import type { Storage } from '../storage/Storage.ts';
import { sendToNode, textAnswer, toWebResponse } from './answer.ts';
import { answerMedia, type MediaSource } from './mediaAnswer.ts';
import { mediaPrefixOf } from './mediaName.ts';
import { failureAnswer, nodeConditionalHeaders, nodeTarget, webBody, webConditionalHeaders, webTarget, type NextFunction, type RequestTarget } from './requests.ts';

export interface MediaHandlerOptions {
  /** The storage whose files are served: a Storage or an alias of settings.STORAGES. Default 'default'. */
  storage?: Storage | string;
  /** Models whose rows record the files' content types. Default: every model with a file field loaded in this process. */
  models?: readonly ModelClass[];
}

export type NodeMediaHandler = (request: IncomingMessage, response: ServerResponse, next?: NextFunction) => Promise<void>;
export type FetchHandler = (request: Request) => Promise<Response>;

function loadedFileModels(): ModelClass[] {
  return [...modelRegistry.values()].filter((model) => model.fileFields().length > 0);
}

let lastPrefix: { mediaUrl: string; prefix: string } | null = null;

function cachedPrefixOf(mediaUrl: string): string {
  if (lastPrefix?.mediaUrl !== mediaUrl) lastPrefix = { mediaUrl, prefix: mediaPrefixOf(mediaUrl) };
  return lastPrefix.prefix;
}

/** The source for a request path, or null when the path is not under MEDIA_URL (read per request: settings may change). */
function sourceFor(options: MediaHandlerOptions, target: RequestTarget): MediaSource | null {
  if (settings.MEDIA_URL === null) return null;
  const prefix = cachedPrefixOf(settings.MEDIA_URL);
  if (!target.rawPath.startsWith(prefix)) return null;
  const storage = typeof options.storage === 'object' ? options.storage : storages.get(options.storage ?? 'default');
  return { storage, prefix, models: options.models ?? loadedFileModels() };
}

/**
 * Node middleware serving MEDIA_URL: at the root (`app.use(mediaHandler())`) or under a mount path
 * (`app.use(settings.MEDIA_URL, mediaHandler())`). Requests outside MEDIA_URL go to `next()`, or get a 404
 * when there is no next.
 */
export function mediaHandler(options: MediaHandlerOptions = {}): NodeMediaHandler {
  return async (request, response, next) => {
    const target = nodeTarget(request);
    let answer;
    try {
      const source = sourceFor(options, target);
      if (source === null) {
        if (next) return next();
        answer = textAnswer(404, 'Not found.');
      } else {
        answer = await answerMedia({
          method: request.method ?? 'GET',
          ...target,
          headers: nodeConditionalHeaders(request),
          upload: { contentType: request.headers['content-type'], contentLength: request.headers['content-length'], body: () => request },
        }, source);
      }
    } catch (error) {
      if (next) return next(error);
      answer = failureAnswer(error, target.rawPath);
    }
    await sendToNode(answer, request.method, response);
  };
}

/** The same for web-standard servers (Hono, route handlers): a 404 Response for what is not under MEDIA_URL. */
export function fetchMediaHandler(options: MediaHandlerOptions = {}): FetchHandler {
  return async (request) => {
    const target = webTarget(request);
    let answer;
    try {
      const source = sourceFor(options, target);
      answer = source === null
        ? textAnswer(404, 'Not found.')
        : await answerMedia({
          method: request.method,
          ...target,
          headers: webConditionalHeaders(request),
          upload: {
            contentType: request.headers.get('content-type') ?? undefined,
            contentLength: request.headers.get('content-length') ?? undefined,
            body: () => webBody(request),
          },
        }, source);
    } catch (error) {
      answer = failureAnswer(error, target.rawPath);
    }
    return toWebResponse(answer, request.method);
  };
}
