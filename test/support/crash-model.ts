/**
 * The Crash model of test/models-processes.test.ts on the default storage, for the MODELS setting of the
 * `filefield check` it runs (the CLI sweeps only the files of models it knows).
 */
import { FileField, Model, type FieldFile } from '../../src/index.ts';

export class Crash extends Model {
  static override table = 'Crash';
  static override fields = { file: new FileField({ uploadTo: 'crash' }) };
  declare file: FieldFile;
}
