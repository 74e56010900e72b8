/** Rows for the benches, written straight into the database (seeding through save() would take minutes). */
import type { Profile } from '../example/models.ts';
import { connection } from '../src/models/connection.ts';

/** `count` Profile rows referring to pictures that were never stored (a size and type recorded, as a save would). */
export async function seedProfileRows(model: typeof Profile, count: number, pictureSize: number): Promise<void> {
  const { database } = connection();
  await database.write((data) => {
    const table = database.table(data, model.tableName);
    for (let index = 0; index < count; index++) {
      const id = database.nextId(data, model.tableName);
      table.push({ id, name: `user ${id}`, picture: { name: `profile_pics/seed-${id}.png`, size: pictureSize, contentType: 'image/png', width: 64, height: 48 } });
    }
  });
}
