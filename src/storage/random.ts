/** Random names for clashes and temporary files, from a CSPRNG (Django's get_random_string). */
import { randomInt } from 'node:crypto';

const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A random string from a CSPRNG, as Django's get_random_string. */
export function randomString(length: number, alphabet = ALPHANUMERIC): string {
  let result = '';
  for (let index = 0; index < length; index++) result += alphabet[randomInt(alphabet.length)];
  return result;
}
