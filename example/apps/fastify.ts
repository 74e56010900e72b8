/**
 * filefield in a Fastify 5 app: a form uploads a profile picture, the profile's page shows it.
 *   npx tsx example/apps/fastify.ts      then open http://127.0.0.1:3000/
 * Imports as in your own app: 'filefield' and 'filefield/http'.
 */
import Fastify from 'fastify';
import { settings } from 'filefield';
import { mediaHandler, uploadHandler } from 'filefield/http';
import { Profile } from '../models.ts';
import { findProfile, profileLocation, profilePage, runAsScript, uploadPage } from './pages.ts';

export const app = Fastify();
const media = mediaHandler();
const upload = uploadHandler(Profile, { field: 'picture', fields: ['name'], redirect: profileLocation });

// The handlers answer on the raw request and reply; Fastify must leave the multipart body unread for them.
app.addContentTypeParser('multipart/form-data', (_request, _body, done) => done(null));
app.get(`${settings.MEDIA_URL}*`, (request, reply) => {
  reply.hijack();
  return media(request.raw, reply.raw);
});
app.post('/profiles', (request, reply) => {
  reply.hijack();
  return upload(request.raw, reply.raw);
});

app.get('/', (_request, reply) => reply.type('text/html').send(uploadPage()));
app.get<{ Params: { id: string } }>('/profiles/:id', async (request, reply) => {
  const profile = await findProfile(Profile, request.params.id);
  return profile ? reply.type('text/html').send(profilePage(profile)) : reply.code(404).send('Not found');
});

if (runAsScript(import.meta.url)) await app.listen({ port: 3000, host: '127.0.0.1' }).then(console.log);
