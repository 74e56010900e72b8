/**
 * What the handlers read of a request, from a Node IncomingMessage (as Express, Connect and Fastify's raw
 * request hand it) or a web Request, and what they do with a failure that is not the client's.
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeWebStream } from 'node:stream/web';
import { textAnswer, type HttpAnswer } from './answer.ts';
import { CONDITIONAL_HEADER_NAMES, type RequestHeaders } from './conditional.ts';
import { loggedServiceProblemOf } from './problems.ts';

export type NextFunction = (error?: unknown) => void;

export interface RequestTarget {
  /** Still percent-encoded. */
  rawPath: string;
  /** Without the '?'. */
  rawQuery: string;
}

function splitTarget(target: string): RequestTarget {
  const queryStart = target.indexOf('?');
  return queryStart === -1
    ? { rawPath: target, rawQuery: '' }
    : { rawPath: target.slice(0, queryStart), rawQuery: target.slice(queryStart + 1) };
}

/** The full request target: Express and Connect strip a mount path from req.url and keep it in req.originalUrl. */
export function nodeTarget(request: IncomingMessage): RequestTarget {
  return splitTarget((request as { originalUrl?: string }).originalUrl ?? request.url ?? '/');
}

export function webTarget(request: Request): RequestTarget {
  const url = new URL(request.url);
  return { rawPath: url.pathname, rawQuery: url.search.slice(1) };
}

/** A web Request's body as a Node stream (empty when it has none); read as the consumer reads, never whole. */
export function webBody(request: Request): Readable {
  return request.body ? Readable.fromWeb(request.body as NodeWebStream<Uint8Array>) : Readable.from([]);
}

export function nodeConditionalHeaders(request: IncomingMessage): RequestHeaders {
  const headers: Record<string, string> = {};
  for (const name of CONDITIONAL_HEADER_NAMES) {
    const value = request.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  return headers;
}

export function webConditionalHeaders(request: Request): RequestHeaders {
  const headers: Record<string, string> = {};
  for (const name of CONDITIONAL_HEADER_NAMES) {
    const value = request.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  return headers;
}

/** The answer to an error that escaped a handler: the server's state said plainly, anything else a bare 500. */
export function failureAnswer(error: unknown, describe: string): HttpAnswer {
  const problem = loggedServiceProblemOf(error);
  if (problem) return textAnswer(problem.status, problem.message);
  console.error(`filefield: error while answering ${describe}`, error);
  return textAnswer(500, 'Internal server error: see the server output.', { Connection: 'close' });
}
