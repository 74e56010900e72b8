/**
 * The bundled example project, used when no filefield.config.* is found: media under ./media and rows
 * in ./db.json of the working directory (or the DATABASE_URL database), so a first `filefield shell` works
 * anywhere.
 */
import { defineSettings } from '../src/index.ts';

export default defineSettings({
  BASE_DIR: process.cwd(),
  MEDIA_ROOT: 'media',
  MEDIA_URL: '/media/',
  MODELS: [new URL('./models.ts', import.meta.url).pathname],
});
