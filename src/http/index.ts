/**
 * `filefield/http`: filefield's media serving and uploads for the user's own web app, as Node middleware
 * (Express, Connect, Fastify's raw request and reply) and as web-standard handlers (Hono, route handlers).
 * `filefield serve` is built on the same handlers.
 */
export { mediaHandler, fetchMediaHandler, type MediaHandlerOptions, type NodeMediaHandler, type FetchHandler } from './media.ts';
export { uploadHandler, fetchUploadHandler, type UploadHandlerOptions, type NodeUploadHandler } from './upload.ts';
export type { NextFunction } from './requests.ts';
