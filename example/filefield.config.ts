/**
 * The bundled example project, used when no filefield.config.* is found: media under ./media and rows
 * in ./db.json of the working directory (or the DATABASE_URL database), so a first `filefield shell` works
 * anywhere.
 */
import { fileURLToPath } from 'node:url';
import { defineSettings } from 'filefield';

export default defineSettings({
  BASE_DIR: process.cwd(),
  MEDIA_ROOT: 'media',
  MEDIA_URL: '/media/',
  MODELS: [fileURLToPath(new URL('./models.ts', import.meta.url))],
});
