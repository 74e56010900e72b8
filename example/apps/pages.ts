/**
 * The two pages the example apps share, so that each app file shows only its framework's wiring: the
 * upload form, and a profile's page with `<img src="${profile.picture.url}">`.
 */
import { pathToFileURL } from 'node:url';
import type { Profile } from '../models.ts';

const escape = (text: string): string => text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head><body>${body}</body></html>`;
}

export function uploadPage(): string {
  return page('New profile', `<h1>New profile</h1>
<form method="post" action="/profiles" enctype="multipart/form-data">
  <label>Name <input name="name"></label>
  <label>Picture <input type="file" name="picture" accept="image/*" required></label>
  <button type="submit">Upload</button>
</form>`);
}

export function profilePage(profile: Profile): string {
  return page(profile.name || `Profile ${profile.id}`, `<h1>${escape(profile.name || `Profile ${profile.id}`)}</h1>
<img src="${escape(profile.picture.url)}" alt="${escape(profile.name)}" width="${profile.picture.width}" height="${profile.picture.height}">`);
}

/** After an upload, the browser is sent to the new profile's page. */
export const profileLocation = (profile: Profile): string => `/profiles/${profile.id}`;

/** The profile of a URL's id, or null (a bad or unknown id is a 404, not an error). */
export async function findProfile(model: typeof Profile, id: string): Promise<Profile | null> {
  return /^\d+$/.test(id) ? model.objects.get(Number(id)).catch(() => null) : null;
}

/** Whether the module is the script node was started with (`npx tsx example/apps/express.ts`). */
export const runAsScript = (moduleUrl: string): boolean => process.argv[1] !== undefined && moduleUrl === pathToFileURL(process.argv[1]).href;
