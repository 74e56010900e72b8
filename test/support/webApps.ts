// The servers the HTTP suite runs against: `filefield serve` and apps of three real frameworks (Express 5,
// Fastify 5, Hono on @hono/node-server) that mount filefield/http's handlers, each on a free port of 127.0.0.1.
// Each offers media at MEDIA_URL and an upload per model at /upload/<Model> (the serve page's paths).
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { settings, type Model, type ModelClass } from '../../src/index.ts';
import { fetchMediaHandler, fetchUploadHandler, mediaHandler, uploadHandler, type UploadHandlerOptions } from '../../src/http/index.ts';
import { serve } from '../../src/server/index.ts';
import { Document, Profile } from './serveProject.ts';

export type ServerKind = 'filefield serve' | 'Express 5' | 'Fastify 5' | 'Hono (node-server)';
export const SERVER_KINDS: readonly ServerKind[] = ['filefield serve', 'Express 5', 'Fastify 5', 'Hono (node-server)'];

export interface RunningApp {
  kind: ServerKind;
  /** e.g. http://127.0.0.1:41234 */
  origin: string;
  /** What an accepted upload answers: the page redirects (POST-redirect-GET), the handlers say 201 with JSON. */
  acceptedStatus: 201 | 303;
  close(): Promise<void>;
}

/** The uploads the apps mount: one file field of each model, and its text fields. */
const UPLOADS: [ModelClass, UploadHandlerOptions<Model>][] = [
  [Profile, { field: 'picture', fields: ['name'] }],
  [Document, { field: 'attachment', fields: ['title'] }],
];

function mediaRoute(): string {
  return `${settings.MEDIA_URL}*`;
}

function listening(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

function closer(server: Server): () => Promise<void> {
  return () => new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

async function startExpress(): Promise<RunningApp> {
  const { default: express } = await import('express');
  const app = express();
  // Mounted under its path, as an app would: the handler reads req.originalUrl.
  app.use(settings.MEDIA_URL!, mediaHandler());
  for (const [model, options] of UPLOADS) app.post(`/upload/${model.name}`, uploadHandler(model, options));
  const server = (await import('node:http')).createServer(app);
  return { kind: 'Express 5', origin: await listening(server), acceptedStatus: 201, close: closer(server) };
}

async function startFastify(): Promise<RunningApp> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify();
  // The upload handler reads the multipart body itself: Fastify must leave it unread.
  app.addContentTypeParser('multipart/form-data', (_request, _payload, done) => done(null));
  const media = mediaHandler();
  app.get(mediaRoute(), (request, reply) => {
    reply.hijack();
    return media(request.raw, reply.raw);
  });
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
  const { serve: serveHono } = await import('@hono/node-server');
  const app = new Hono();
  const media = fetchMediaHandler();
  app.get(mediaRoute(), (context) => media(context.req.raw));
  for (const [model, options] of UPLOADS) {
    const upload = fetchUploadHandler(model, options);
    app.post(`/upload/${model.name}`, (context) => upload(context.req.raw));
  }
  const origin = await new Promise<{ server: Server; origin: string }>((resolve) => {
    // The other servers of the suite share this process: keep its global Request and Response as they are.
    const server = serveHono({ fetch: app.fetch, port: 0, hostname: '127.0.0.1', overrideGlobalObjects: false }, (info) => {
      resolve({ server: server as Server, origin: `http://127.0.0.1:${info.port}` });
    });
  });
  return { kind: 'Hono (node-server)', origin: origin.origin, acceptedStatus: 201, close: closer(origin.server) };
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
