/**
 * The request handler of `filefield serve`: routes to the page, the upload form and the media files,
 * after the checks every request goes through.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { settings } from '../conf/settings.ts';
import type { ModelClass } from '../models/Model.ts';
import { storages } from '../storage/handler.ts';
import { crossSiteProblem, hostProblem } from './guard.ts';
import { serveMedia } from './media.ts';
import { mediaPrefixOf } from './mediaName.ts';
import { renderIndexPage, rowAnchor, type PageState } from './pages.ts';
import { DEFAULT_UPLOAD_LIMIT, receiveUpload } from './upload.ts';

export interface AppOptions {
  models: readonly ModelClass[];
  /** Host names the Host header may carry; null accepts any (listening on all interfaces). */
  allowedHosts: Set<string> | null;
  /** Receives one line per request; none when absent. */
  log?: (line: string) => void;
}

const PAGE_SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-store',
} as const;

/** FILE_UPLOAD_MAX_SIZE, or the server's own default when the project sets none. */
export function uploadLimit(): number {
  return settings.FILE_UPLOAD_MAX_SIZE ?? DEFAULT_UPLOAD_LIMIT;
}

function sendText(response: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  const body = `${message}\n`;
  response.writeHead(status, {
    ...PAGE_SECURITY_HEADERS,
    'Content-Security-Policy': "default-src 'none'",
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...headers,
  });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}

async function sendPage(response: ServerResponse, status: number, context: AppOptions, state: PageState, headers: Record<string, string> = {}): Promise<void> {
  const page = await renderIndexPage({ models: context.models, uploadLimit: uploadLimit() }, state);
  response.writeHead(status, {
    ...PAGE_SECURITY_HEADERS,
    'Content-Security-Policy': page.contentSecurityPolicy,
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(page.body),
    ...headers,
  });
  response.end(response.req.method === 'HEAD' ? undefined : page.body);
}

function findModel(models: readonly ModelClass[], encodedTable: string): ModelClass | undefined {
  let table: string;
  try {
    table = decodeURIComponent(encodedTable);
  } catch {
    return undefined;
  }
  return models.find((model) => model.tableName === table);
}

/** The confirmation asked for by the redirect after an upload (`?saved=Table&id=3`), if it names a known model. */
function savedState(models: readonly ModelClass[], query: URLSearchParams): PageState['saved'] {
  const table = query.get('saved');
  const id = Number(query.get('id'));
  if (table === null || !Number.isSafeInteger(id) || !models.some((model) => model.tableName === table)) return undefined;
  return { table, id };
}

async function handleUpload(requestIn: IncomingMessage, response: ServerResponse, context: AppOptions, model: ModelClass): Promise<void> {
  const crossSite = crossSiteProblem(requestIn);
  if (crossSite) {
    sendText(response, 403, crossSite, { Connection: 'close' });
    return;
  }
  const outcome = await receiveUpload(requestIn, model, { fileSizeLimit: uploadLimit() });
  if (outcome.ok) {
    // POST-redirect-GET: reloading the page afterwards does not upload again.
    const id = outcome.instance.id ?? 0;
    const location = `/?saved=${encodeURIComponent(model.tableName)}&id=${id}#${rowAnchor(model, id)}`;
    response.writeHead(303, { ...PAGE_SECURITY_HEADERS, Location: location, 'Content-Length': 0 });
    response.end();
    return;
  }
  const state: PageState = { refused: { table: model.tableName, message: outcome.message, values: outcome.values } };
  // A body left unread cannot be followed by another request on this connection.
  await sendPage(response, outcome.status, context, state, outcome.closeConnection ? { Connection: 'close' } : {});
}

async function route(requestIn: IncomingMessage, response: ServerResponse, context: AppOptions): Promise<void> {
  const problem = hostProblem(requestIn, context.allowedHosts);
  if (problem) {
    sendText(response, 400, problem);
    return;
  }
  const target = requestIn.url ?? '/';
  if (!target.startsWith('/')) {
    sendText(response, 400, 'Bad request target.');
    return;
  }
  const queryStart = target.indexOf('?');
  const rawPath = queryStart === -1 ? target : target.slice(0, queryStart);
  const rawQuery = queryStart === -1 ? '' : target.slice(queryStart + 1);
  const method = requestIn.method ?? 'GET';

  if (rawPath === '/') {
    if (method !== 'GET' && method !== 'HEAD') {
      sendText(response, 405, 'Method not allowed.', { Allow: 'GET, HEAD' });
      return;
    }
    await sendPage(response, 200, context, { saved: savedState(context.models, new URLSearchParams(rawQuery)) });
    return;
  }

  if (rawPath.startsWith('/upload/')) {
    const model = findModel(context.models, rawPath.slice('/upload/'.length));
    if (!model) {
      sendText(response, 404, 'No such model.');
    } else if (method !== 'POST') {
      sendText(response, 405, 'Method not allowed.', { Allow: 'POST' });
    } else {
      await handleUpload(requestIn, response, context, model);
    }
    return;
  }

  const mediaUrl = settings.MEDIA_URL;
  if (mediaUrl !== null) {
    const prefix = mediaPrefixOf(mediaUrl);
    if (rawPath.startsWith(prefix)) {
      await serveMedia(requestIn, response, { storage: storages.get('default'), models: context.models }, { prefix, rawPath, rawQuery });
      return;
    }
  }
  sendText(response, 404, 'Not found.');
}

/** Request targets are attacker-chosen; control characters must not reach the terminal. */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (character) => `\\x${character.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function createRequestListener(context: AppOptions): RequestListener {
  return (requestIn, response) => {
    if (context.log) {
      const log = context.log;
      response.once('finish', () => {
        log(`[${new Date().toISOString()}] "${requestIn.method} ${printable(requestIn.url ?? '')}" ${response.statusCode}`);
      });
    }
    route(requestIn, response, context).catch((error: unknown) => {
      console.error('filefield serve: error while answering', printable(requestIn.url ?? ''), error);
      if (!response.headersSent) {
        sendText(response, 500, 'Internal server error: see the server output.', { Connection: 'close' });
      } else {
        response.destroy();
      }
    });
  };
}
