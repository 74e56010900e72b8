/**
 * The article's model: a profile with a picture, stored as profile_pics/<uuid4><ext>.
 */
import { randomUUID } from 'node:crypto';
import { extname } from 'node:path';
import { CharField, ImageField, Model, type ImageFieldFile } from 'filefield';

/** A random name keeps two uploads of "me.png" apart and tells nothing about the uploader. */
export function profilePicPath(_instance: Profile, filename: string): string {
  return `profile_pics/${randomUUID()}${extname(filename).toLowerCase()}`;
}

export class Profile extends Model {
  static override fields = {
    name: new CharField({ maxLength: 100, blank: true }),
    picture: new ImageField({ uploadTo: profilePicPath }),
  };

  declare name: string;
  declare picture: ImageFieldFile;
}
