/**
 * filefield in an Express 5 app: a form uploads a profile picture, the profile's page shows it.
 *   npx tsx example/apps/express.ts      then open http://127.0.0.1:3000/
 * Imports as in your own app: 'filefield' and 'filefield/http'.
 */
import express from 'express';
import { settings } from 'filefield';
import { mediaHandler, uploadHandler } from 'filefield/http';
import { Profile } from '../models.ts';
import { findProfile, profileLocation, profilePage, runAsScript, uploadPage } from './pages.ts';

export const app = express();

// Mounted under MEDIA_URL (it reads req.originalUrl); app.use(mediaHandler()) at the root works too.
app.use(settings.MEDIA_URL!, mediaHandler());
app.post('/profiles', uploadHandler(Profile, { field: 'picture', fields: ['name'], redirect: profileLocation }));

app.get('/', (_request, response) => {
  response.type('html').send(uploadPage());
});
app.get('/profiles/:id', async (request, response) => {
  const profile = await findProfile(Profile, request.params.id);
  if (profile) response.type('html').send(profilePage(profile));
  else response.sendStatus(404);
});

if (runAsScript(import.meta.url)) app.listen(3000, '127.0.0.1', () => console.log('http://127.0.0.1:3000/'));
