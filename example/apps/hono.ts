/**
 * filefield in a Hono app (web-standard Request and Response) on Node: a form uploads a profile picture,
 * the profile's page shows it.
 *   npx tsx example/apps/hono.ts      then open http://127.0.0.1:3000/
 * Imports as in your own app: 'filefield' and 'filefield/http'.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { settings } from 'filefield';
import { fetchMediaHandler, fetchUploadHandler } from 'filefield/http';
import { Profile } from '../models.ts';
import { findProfile, profileLocation, profilePage, runAsScript, uploadPage } from './pages.ts';

export const app = new Hono();
const media = fetchMediaHandler();
const upload = fetchUploadHandler(Profile, { field: 'picture', fields: ['name'], redirect: profileLocation });

app.get(`${settings.MEDIA_URL}*`, (context) => media(context.req.raw));
app.post('/profiles', (context) => upload(context.req.raw));

app.get('/', (context) => context.html(uploadPage()));
app.get('/profiles/:id', async (context) => {
  const profile = await findProfile(Profile, context.req.param('id'));
  return profile ? context.html(profilePage(profile)) : context.notFound();
});

if (runAsScript(import.meta.url)) serve({ fetch: app.fetch, port: 3000, hostname: '127.0.0.1' }, (info) => console.log(`http://127.0.0.1:${info.port}/`));
