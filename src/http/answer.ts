/**
 * An HTTP answer worked out once and written out twice: to a Node ServerResponse (Express, Connect,
 * Fastify's raw reply, `filefield serve`) or as a web Response (Hono, route handlers). The media and
 * upload logic builds these and never touches either transport.
 */
import type { ServerResponse } from 'node:http';

/** A body read piece by piece from storage; close() releases what it reads from, read to the end or not. */
export interface StreamedBody {
  chunks: AsyncIterable<Uint8Array>;
  close(): Promise<void>;
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body?: string | StreamedBody;
}

/** Sent with every answer that is not a stored file: nothing in it may be sniffed, framed or cached. */
export const PLAIN_ANSWER_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'",
  'Cache-Control': 'no-store',
} as const;

function wholeAnswer(status: number, body: string, contentType: string, headers: Record<string, string>): HttpAnswer {
  return {
    status,
    headers: { ...PLAIN_ANSWER_HEADERS, 'Content-Type': contentType, 'Content-Length': String(Buffer.byteLength(body)), ...headers },
    body,
  };
}

export function textAnswer(status: number, message: string, headers: Record<string, string> = {}): HttpAnswer {
  return wholeAnswer(status, `${message}\n`, 'text/plain; charset=utf-8', headers);
}

export function jsonAnswer(status: number, value: unknown, headers: Record<string, string> = {}): HttpAnswer {
  return wholeAnswer(status, JSON.stringify(value), 'application/json; charset=utf-8', headers);
}

function isStreamed(body: HttpAnswer['body']): body is StreamedBody {
  return typeof body === 'object';
}

/** Writes the answer to a Node response; resolves once it is sent or the client went away. */
export async function sendToNode(answer: HttpAnswer, method: string | undefined, response: ServerResponse): Promise<void> {
  const { body } = answer;
  response.writeHead(answer.status, answer.headers);
  if (body === undefined || method === 'HEAD') {
    response.end();
    if (isStreamed(body)) await body.close();
    return;
  }
  if (!isStreamed(body)) {
    response.end(body);
    return;
  }
  const pieces = body.chunks[Symbol.asyncIterator]();
  try {
    let next = pieces.next();
    for (;;) {
      const { value, done } = await next;
      // A client that went away mid-download stops the reading; a broken download is not our error.
      if (done || response.destroyed) break;
      // The next piece is read while this one is sent: the disk and the network work at the same time.
      next = pieces.next();
      if (!response.write(value)) await drainedOrClosed(response);
    }
    response.end();
  } catch {
    response.destroy();
  } finally {
    await pieces.return?.();
    await body.close();
  }
}

function drainedOrClosed(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

/** The answer as a web Response; a streamed body is pulled from storage only as fast as the client reads. */
export async function toWebResponse(answer: HttpAnswer, method: string): Promise<Response> {
  const { body, status, headers } = answer;
  if (body === undefined || method === 'HEAD') {
    if (isStreamed(body)) await body.close();
    return new Response(null, { status, headers });
  }
  if (!isStreamed(body)) return new Response(body, { status, headers });
  const pieces = body.chunks[Symbol.asyncIterator]();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await pieces.next();
        if (done) {
          await body.close();
          controller.close();
        } else {
          controller.enqueue(value);
        }
      } catch (error) {
        await body.close();
        controller.error(error);
      }
    },
    async cancel() {
      await pieces.return?.();
      await body.close();
    },
  }, { highWaterMark: 1 });
  return new Response(stream, { status, headers });
}
