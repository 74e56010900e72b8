/**
 * The SQL drivers are optional peer dependencies: loaded on first use, and when one is missing the error
 * says which `npm install` to run.
 */
import { ImproperlyConfigured, errorCode } from '../../errors.ts';

export const INSTALL_LINES = {
  'better-sqlite3': 'npm install better-sqlite3@^12',
  pg: 'npm install pg',
} as const;

export async function loadDriver<T>(name: keyof typeof INSTALL_LINES, engine: string): Promise<T> {
  try {
    const module = (await import(name)) as { default?: T };
    return (module.default ?? module) as T;
  } catch (error) {
    const missing = (errorCode(error) === 'ERR_MODULE_NOT_FOUND' || errorCode(error) === 'MODULE_NOT_FOUND')
      && (error as Error).message.includes(`'${name}'`);
    if (!missing) throw error;
    throw new ImproperlyConfigured(`The ${engine} engine needs the '${name}' package, which is not installed: run \`${INSTALL_LINES[name]}\`.`);
  }
}
