/**
 * Failures that are the server's state rather than a bug, answered with their own status and a sentence
 * a user can act on instead of a 500 and a stack: a database that cannot be read (503) and a full disk (507).
 */
import { errorCode } from '../errors.ts';

export interface ServiceProblem {
  status: 503 | 507;
  message: string;
}

/** Whether the error says the database file cannot be read (so the rows are unknown, the files are not). */
export function isDatabaseUnreadable(error: unknown): boolean {
  return error instanceof SyntaxError;
}

export function serviceProblemOf(error: unknown): ServiceProblem | null {
  if (isDatabaseUnreadable(error)) {
    return { status: 503, message: `The database cannot be read: ${(error as Error).message}` };
  }
  if (errorCode(error) === 'ENOSPC') {
    return { status: 507, message: `The server is out of space: ${(error as Error).message}` };
  }
  return null;
}
