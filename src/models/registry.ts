/**
 * Every prepared model, by table name, so that the sweep of abandoned uploads, migrate, dumpdata and the
 * shell can find them. Its own module, so that who reads it need not import Model.
 */
import type { ModelClass } from './Model.ts';

export const modelRegistry = new Map<string, ModelClass>();
