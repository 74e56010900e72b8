/**
 * Checking the OPTIONS a remote backend is given: each problem is an ImproperlyConfigured error that names
 * the backend and the option, and an option the backend does not know is refused (a typo must not pass
 * silently as a default).
 */
import { ImproperlyConfigured } from '../errors.ts';

/** Throws ImproperlyConfigured for one option. */
export type OptionFailure = (option: string, problem: string) => never;

/** `<backend> option '<option>' <problem>`. */
export function optionFailure(backend: string): OptionFailure {
  return (option, problem) => {
    throw new ImproperlyConfigured(`${backend} option '${option}' ${problem}`);
  };
}

export function rejectUnknownOptions(options: Record<string, unknown>, known: ReadonlySet<string>, backend: string, fail: OptionFailure): void {
  for (const key of Object.keys(options)) {
    if (!known.has(key)) fail(key, `is not an ${backend} option (known: ${[...known].join(', ')}).`);
  }
}

/** A string option; absent, null and '' all mean "not given". */
export function optionalString(options: Record<string, unknown>, key: string, fail: OptionFailure): string | null {
  const value = options[key];
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') fail(key, `must be a string, got ${typeof value}.`);
  return value;
}
