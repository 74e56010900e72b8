/**
 * Models shared by test/models-processes.test.ts and the child processes it starts, so that both sides
 * read and write the same tables with the same fields.
 */
import { CharField, FileField, ImageField, Model, type FieldFile, type ImageFieldFile } from '../../src/index.ts';

/** A small text file per row; every writer saves the same file name, so the names collide across processes. */
export class Note extends Model {
  static override table = 'Note';
  static override fields = {
    title: new CharField(),
    file: new FileField({ uploadTo: 'notes' }),
  };

  declare title: string;
  declare file: FieldFile;
}

/** fixtures/4x8.png per row. */
export class Picture extends Model {
  static override table = 'Picture';
  static override fields = {
    title: new CharField(),
    image: new ImageField({ uploadTo: 'pictures' }),
  };

  declare title: string;
  declare image: ImageFieldFile;
}

/** The settings a child process gets from its parent, as JSON in argv[2]. */
export type ChildSettings = {
  BASE_DIR: string;
  MEDIA_ROOT: string;
  DATABASE: string;
};
