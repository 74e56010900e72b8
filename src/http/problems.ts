/**
 * Failures that are the server's state rather than a bug, answered with their own status and a sentence
 * a user can act on instead of a 500 and a stack: a database that cannot be used (503) and a full disk (507).
 */
import { DatabaseError, isOutOfSpace } from '../errors.ts';

export interface ServiceProblem {
  status: 503 | 507;
  message: string;
}

/** Whether the error says the database cannot be used (so the rows are unknown; the files are not). */
export function isDatabaseUnreadable(error: unknown): boolean {
  return error instanceof DatabaseError;
}

/**
 * The answer to such a failure. `detailed` (the development server) tells which file and what is wrong;
 * an app's visitors get the sentence without the server's paths, which go to the log instead.
 */
export function serviceProblemOf(error: unknown, detailed: boolean): ServiceProblem | null {
  if (isDatabaseUnreadable(error)) {
    return { status: 503, message: detailed ? (error as Error).message : 'The database cannot be read: see the server\'s log.' };
  }
  if (isOutOfSpace(error)) {
    return { status: 507, message: detailed ? `The server is out of space: ${(error as Error).message}` : 'The server is out of space.' };
  }
  return null;
}

/** The problem for an app's visitors, with the full error in the server's log. */
export function loggedServiceProblemOf(error: unknown): ServiceProblem | null {
  const problem = serviceProblemOf(error, false);
  if (problem) console.error(`filefield: answered ${problem.status}:`, (error as Error).message);
  return problem;
}
