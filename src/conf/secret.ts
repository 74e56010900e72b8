/**
 * The project's secret key (for signed URLs): SECRET_KEY when set, otherwise one generated once and kept
 * in BASE_DIR/.filefield_secret (readable by its owner only), so URLs stay valid across restarts.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorCode } from '../errors.ts';
import { settings } from './settings.ts';

export const SECRET_FILE_NAME = '.filefield_secret';

export function secretKey(): string {
  if (settings.SECRET_KEY) return settings.SECRET_KEY;
  const file = join(settings.BASE_DIR, SECRET_FILE_NAME);
  try {
    writeFileSync(file, randomBytes(32).toString('base64url') + '\n', { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw error;
  }
  // Read back even after writing: a concurrent process may have created it first.
  const key = readFileSync(file, 'utf8').trim();
  if (key.length < 16) throw new Error(`${file} holds no usable key: delete it to have a new one made.`);
  return key;
}
