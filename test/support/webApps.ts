// The servers the HTTP suite runs against: `filefield serve` and apps of three real frameworks (Express 5,
// Fastify 5, Hono on @hono/node-server) that mount filefield/http's handlers, each on a free port of 127.0.0.1.
// Each offers media at MEDIA_URL and an upload per model at /upload/<Model> (the serve page's paths).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { settings, type Model, type ModelClass } from '../../src/index.ts';
import { fetchMediaHandler, fetchUploadHandler, mediaHandler, uploadHandler, type UploadHandlerOptions } from '../../src/http/index.ts';
import { serve } from '../../src/server/index.ts';
import { Document, Profile } from './serveProject.ts';

export type ServerKind = 'filefield serve' | 'Express 5' | 'Fastify 5' | 'Hono (node-server)';
export const SERVER_KINDS: readonly ServerKind[] = ['filefield serve', 'Express 5', 'Fastify 5', 'Hono (node-server)'];

export interface RunningApp extends Listening {
  kind: ServerKind;
  /** What an accepted upload answers: the page redirects (POST-redirect-GET), the handlers say 201 with JSON. */
  acceptedStatus: 201 | 303;
}

/** The uploads the apps mount: one file field of each model, and its text fields. */
const UPLOADS: [ModelClass, UploadHandlerOptions<Model>][] = [
  [Profile, { field: 'picture', fields: ['name'] }],
  [Document, { field: 'attachment', fields: ['title'] }],
];

function mediaRoute(): string {
  return `${settings.MEDIA_URL}*`;
}

export interface Listening {
  /** e.g. http://127.0.0.1:41234 */
  origin: string;
  close(): Promise<void>;
}

/** Listens on a free port of 127.0.0.1; close() also ends the connections still open. */
export async function listenOnFreePort(server: Server): Promise<Listening> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      server.closeAllConnections();
    }),
  };
}

async function startExpress(): Promise<RunningApp> {
  const { default: express } = await import('express');
  const app = express();
  // Mounted under its path, as an app would: the handler reads req.originalUrl.
  app.use(settings.MEDIA_URL!, mediaHandler());
  for (const [model, options] of UPLOADS) app.post(`/upload/${model.name}`, uploadHandler(model, options));
  return { kind: 'Express 5', acceptedStatus: 201, ...(await listenOnFreePort(createServer(app))) };
}

async function startFastify(): Promise<RunningApp> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify();
  // The handlers read the bodies themselves (multipart forms, direct uploads' bytes): Fastify must leave them unread.
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  const media = mediaHandler();
  // PUT: the local storage's signed upload URLs are media URLs.
  app.route({ method: ['GET', 'PUT'], url: mediaRoute(), handler: (request, reply) => {
    reply.hijack();
    return media(request.raw, reply.raw);
  } });
  for (const [model, options] of UPLOADS) {
    const upload = uploadHandler(model, options);
    app.post(`/upload/${model.name}`, (request, reply) => {
      reply.hijack();
      return upload(request.raw, reply.raw);
    });
  }
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { kind: 'Fastify 5', origin: `http://127.0.0.1:${port}`, acceptedStatus: 201, close: () => app.close() };
}

async function startHono(): Promise<RunningApp> {
  const { Hono } = await import('hono');
  const { getRequestListener } = await import('@hono/node-server');
  const app = new Hono();
  const media = fetchMediaHandler();
  // PUT: the local storage's signed upload URLs are media URLs.
  app.on(['GET', 'PUT'], mediaRoute(), (context) => media(context.req.raw));
  for (const [model, options] of UPLOADS) {
    const upload = fetchUploadHandler(model, options);
    app.post(`/upload/${model.name}`, (context) => upload(context.req.raw));
  }
  // The other servers of the suite share this process: keep its global Request and Response as they are.
  const server = createServer(getRequestListener(app.fetch, { overrideGlobalObjects: false }));
  return { kind: 'Hono (node-server)', acceptedStatus: 201, ...(await listenOnFreePort(server)) };
}

async function startServe(): Promise<RunningApp> {
  const server = await serve({ port: 0, host: '127.0.0.1', models: [Profile, Document], announce: false });
  return { kind: 'filefield serve', origin: server.url.replace(/\/$/, ''), acceptedStatus: 303, close: () => server.close() };
}

/** Starts one server of the suite with the current settings. */
export function startApp(kind: ServerKind): Promise<RunningApp> {
  switch (kind) {
    case 'filefield serve': return startServe();
    case 'Express 5': return startExpress();
    case 'Fastify 5': return startFastify();
    case 'Hono (node-server)': return startHono();
  }
}
