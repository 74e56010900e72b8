/**
 * `filefield init`: starts a project in the current folder: its settings, the article's Profile model,
 * and .gitignore lines for what filefield writes there. It never overwrites a file.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_FILE_NAMES } from '../conf/load.ts';
import { BUNDLE_NAME_PATTERN } from '../conf/modules.ts';
import { SECRET_FILE_NAME } from '../conf/secret.ts';
import { HISTORY_FILE_NAME } from '../shell/history.ts';

const MEDIA_ROOT = 'media';
const DATABASE = 'db.json';

const SETTINGS_SOURCE = `import { defineSettings } from 'filefield';

// Relative paths are relative to this file's folder.
export default defineSettings({
  MEDIA_ROOT: '${MEDIA_ROOT}',         // where uploaded files are stored
  MEDIA_URL: '/media/',        // the URL they are served under (filefield serve)
  DATABASE: '${DATABASE}',        // the rows; 'db.sqlite3' or a postgres:// URL for a SQL database
  MODELS: ['./models.ts'],     // the shell preloads the models these modules export
});
`;

const MODELS_SOURCE = `import { randomUUID } from 'node:crypto';
import { extname } from 'node:path';
import { CharField, ImageField, Model, type ImageFieldFile } from 'filefield';

/** profile_pics/<uuid4><ext>: two uploads of "me.png" never clash, and the name tells nothing about the uploader. */
export function profilePicPath(_instance: Profile, filename: string): string {
  return \`profile_pics/\${randomUUID()}\${extname(filename).toLowerCase()}\`;
}

export class Profile extends Model {
  static override fields = {
    name: new CharField({ maxLength: 100, blank: true }),
    picture: new ImageField({ uploadTo: profilePicPath }),
  };

  declare name: string; // \`declare\`, so that the field's accessor is not shadowed
  declare picture: ImageFieldFile;
}
`;

/** What filefield writes into a project with the settings above: none of it belongs in version control. */
const IGNORED = [
  `/${MEDIA_ROOT}/`,
  // The database, its lock and its upload journal (db.json.lock, db.json.uploads/), and its spare.
  `/${DATABASE}*`,
  `/.${DATABASE}.*`,
  SECRET_FILE_NAME,
  HISTORY_FILE_NAME,
  BUNDLE_NAME_PATTERN,
];

export interface InitResult {
  /** Files written, by name. */
  written: string[];
  /** Lines added to .gitignore. */
  ignored: string[];
}

/** Settings files (any of filefield.config.*) and models.ts that already exist in `folder`. */
function existingFiles(folder: string): string[] {
  return [...CONFIG_FILE_NAMES, 'models.ts'].filter((name) => existsSync(join(folder, name)));
}

/** Writes the project's files into `folder`; refuses, writing nothing, when one of them exists. */
export function initProject(folder: string): InitResult {
  const existing = existingFiles(folder);
  if (existing.length > 0) {
    throw new Error(`${existing.join(', ')} already ${existing.length === 1 ? 'exists' : 'exist'} in ${folder}; nothing was written.`);
  }
  // 'wx': a file that appeared meanwhile is still never overwritten.
  writeFileSync(join(folder, 'filefield.config.ts'), SETTINGS_SOURCE, { flag: 'wx' });
  writeFileSync(join(folder, 'models.ts'), MODELS_SOURCE, { flag: 'wx' });
  return { written: ['filefield.config.ts', 'models.ts'], ignored: addIgnoredLines(join(folder, '.gitignore')) };
}

/** Appends the lines .gitignore lacks (creating it if needed); what is there stays as it is. */
function addIgnoredLines(file: string): string[] {
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const present = new Set(current.split(/\r?\n/).map((line) => line.trim()));
  const missing = IGNORED.filter((line) => !present.has(line));
  if (missing.length === 0) return [];
  const separator = current === '' || current.endsWith('\n') ? '' : '\n';
  const heading = current === '' ? '' : '\n';
  writeFileSync(file, `${current}${separator}${heading}# filefield: uploaded files, the database and what filefield keeps beside them\n${missing.join('\n')}\n`);
  return missing;
}

/** The command's action: reports what it did; 1 when it refused. */
export function runInit(folder: string, output: (text: string) => void, errors: (text: string) => void): number {
  let result: InitResult;
  try {
    result = initProject(folder);
  } catch (error) {
    errors(`filefield init: ${(error as Error).message}\n`);
    return 1;
  }
  const ignored = result.ignored.length ? `; .gitignore now ignores ${result.ignored.join(' ')}` : '';
  output(`Wrote ${result.written.join(' and ')}${ignored}.\nNext: npx filefield shell\n`);
  return 0;
}
