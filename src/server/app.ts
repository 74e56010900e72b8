/**
 * The request handler of `filefield serve`: routes to the page, the upload form and the media files,
 * after the checks every request goes through.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { sendToNode, textAnswer } from '../http/answer.ts';
import { mediaHandler, type NodeMediaHandler } from '../http/media.ts';
import { serviceProblemOf } from '../http/problems.ts';
import { receiveUpload, uploadOptionsFromSettings, uploadSizeLimit, wholeModelForm } from '../http/receiveUpload.ts';
import { nodeTarget } from '../http/requests.ts';
import type { ModelClass } from '../models/Model.ts';
import { crossSiteProblem, hostProblem } from './guard.ts';
import { renderIndexPage, renderProblemPage, rowAnchor, type PageState, type RenderedPage } from './pages.ts';

export interface AppOptions {
  models: readonly ModelClass[];
  /** Host names the Host header may carry; null accepts any (listening on all interfaces). */
  allowedHosts: Set<string> | null;
  /** Receives one line per request; none when absent. */
  log?: (line: string) => void;
}

interface AppContext extends AppOptions {
  media: NodeMediaHandler;
}

const PAGE_SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-store',
} as const;

function sendText(response: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): Promise<void> {
  return sendToNode(textAnswer(status, message, { ...PAGE_SECURITY_HEADERS, ...headers }), response.req.method, response);
}

function sendRendered(response: ServerResponse, status: number, page: RenderedPage, headers: Record<string, string>): void {
  response.writeHead(status, {
    ...PAGE_SECURITY_HEADERS,
    'Content-Security-Policy': page.contentSecurityPolicy,
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(page.body),
    ...headers,
  });
  response.end(response.req.method === 'HEAD' ? undefined : page.body);
}

/** The page, or, when the server's state keeps it from showing the rows (an unreadable database), a page saying so. */
async function sendPage(response: ServerResponse, status: number, context: AppContext, state: PageState, headers: Record<string, string> = {}): Promise<void> {
  const pageContext = { models: context.models, uploadLimit: uploadSizeLimit() };
  let page: RenderedPage;
  try {
    page = await renderIndexPage(pageContext, state);
  } catch (error) {
    const problem = serviceProblemOf(error, true);
    if (!problem) throw error;
    sendRendered(response, problem.status, renderProblemPage(pageContext, problem.message), headers);
    return;
  }
  sendRendered(response, status, page, headers);
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

async function handleUpload(requestIn: IncomingMessage, response: ServerResponse, context: AppContext, model: ModelClass): Promise<void> {
  const crossSite = crossSiteProblem(requestIn);
  if (crossSite) {
    await sendText(response, 403, crossSite, { Connection: 'close' });
    return;
  }
  let outcome;
  try {
    outcome = await receiveUpload({ headers: requestIn.headers, body: requestIn }, wholeModelForm(model), uploadOptionsFromSettings());
  } catch (error) {
    const problem = serviceProblemOf(error, true);
    if (!problem) throw error;
    const state: PageState = { refused: { table: model.tableName, message: problem.message, values: {} } };
    await sendPage(response, problem.status, context, state, { Connection: 'close' });
    return;
  }
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

async function route(requestIn: IncomingMessage, response: ServerResponse, context: AppContext): Promise<void> {
  const problem = hostProblem(requestIn, context.allowedHosts);
  if (problem) {
    await sendText(response, 400, problem);
    return;
  }
  if (!(requestIn.url ?? '/').startsWith('/')) {
    await sendText(response, 400, 'Bad request target.');
    return;
  }
  const { rawPath, rawQuery } = nodeTarget(requestIn);
  const method = requestIn.method ?? 'GET';

  if (rawPath === '/') {
    if (method !== 'GET' && method !== 'HEAD') {
      await sendText(response, 405, 'Method not allowed.', { Allow: 'GET, HEAD' });
      return;
    }
    await sendPage(response, 200, context, { saved: savedState(context.models, new URLSearchParams(rawQuery)) });
    return;
  }

  if (rawPath.startsWith('/upload/')) {
    const model = findModel(context.models, rawPath.slice('/upload/'.length));
    if (!model) {
      await sendText(response, 404, 'No such model.');
    } else if (method !== 'POST') {
      await sendText(response, 405, 'Method not allowed.', { Allow: 'POST' });
    } else {
      await handleUpload(requestIn, response, context, model);
    }
    return;
  }

  await context.media(requestIn, response, (error?: unknown) => {
    // An error passed on is answered as any other (500, logged), not as "not found".
    if (error !== undefined) throw error;
    return sendText(response, 404, 'Not found.');
  });
}

/** Request targets are attacker-chosen; control characters must not reach the terminal. */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (character) => `\\x${character.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function createRequestListener(options: AppOptions): RequestListener {
  const context: AppContext = { ...options, media: mediaHandler({ models: options.models }) };
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
        void sendText(response, 500, 'Internal server error: see the server output.', { Connection: 'close' });
      } else {
        response.destroy();
      }
    });
  };
}
