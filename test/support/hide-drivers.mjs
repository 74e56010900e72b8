// Loaded with --import: makes the SQL drivers (better-sqlite3, pg) unresolvable, as in a project that has not
// installed them, so the error a missing driver gives can be tested for real.
import { register } from 'node:module';

register(`data:text/javascript,${encodeURIComponent(`
export async function resolve(specifier, context, next) {
  if (specifier === 'better-sqlite3' || specifier === 'pg') {
    const error = new Error("Cannot find package '" + specifier + "' imported from " + context.parentURL);
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  return next(specifier, context);
}`)}`);
