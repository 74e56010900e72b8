/** Rows for the benches, written straight into the database (seeding through save() would take minutes). */
import type { Profile } from '../example/models.ts';
import { activeDatabase } from '../src/models/activeDatabase.ts';

/** `count` Profile rows referring to pictures that were never stored (a size and type recorded, as a save would). */
export async function seedProfileRows(model: typeof Profile, count: number, pictureSize: number): Promise<void> {
  const database = await activeDatabase();
  await database.migrate([model.schema]);
  const BATCH = 10_000;
  for (let start = 1; start <= count; start += BATCH) {
    const rows = [];
    for (let id = start; id < Math.min(start + BATCH, count + 1); id++) {
      rows.push({ id, name: `user ${id}`, picture: `profile_pics/seed-${id}.png`, picture_size: pictureSize, picture_content_type: 'image/png', picture_width: 64, picture_height: 48 });
    }
    await database.loadRows(model.schema, rows);
  }
}
