/**
 * Storage calls on a diagnostics channel (`filefield:storage`), for the shell's `--trace` and for anyone
 * who wants to see them: one message per call of a public Storage method (the outermost one: the exists()
 * that a save() makes to choose a name is part of that save), published when it settles. Costs nothing
 * while nobody subscribes.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { channel } from 'node:diagnostics_channel';
import type { Storage } from './Storage.ts';

export const STORAGE_CHANNEL_NAME = 'filefield:storage';

export interface StorageCall {
  /** The STORAGES alias, or null for a storage made directly. */
  alias: string | null;
  /** The backend's class name. */
  backend: string;
  /** The public Storage method, as API.md names it. */
  method: string;
  /** The file or folder name the call was about (its first argument), if any. */
  name: string | null;
  /** The bytes saved, opened or measured, where known. */
  bytes: number | null;
  durationMs: number;
  /** The error the call failed with, if it did. */
  error?: unknown;
}

export const storageChannel = channel(STORAGE_CHANNEL_NAME);

/** The Storage methods that touch stored data; the synchronous name helpers (url, path…) are not calls. */
export const TRACED_METHODS = [
  'save', 'open', 'delete', 'exists', 'listdir', 'size', 'getAccessedTime', 'getCreatedTime', 'getModifiedTime',
  'getAvailableName', 'signedUrl', 'copy', 'move', 'copyTo', 'deleteAll', 'signedUploadUrl',
] as const;

const insideACall = new AsyncLocalStorage<true>();

function bytesOf(method: string, args: unknown[], result: unknown): number | null {
  const known = (value: unknown): number | null => {
    const size = (value as { sizeIfKnown?: unknown } | null)?.sizeIfKnown;
    return typeof size === 'number' ? size : null;
  };
  if (method === 'save') return known(args[1]);
  if (method === 'open') return known(result);
  if (method === 'size') return typeof result === 'number' ? result : null;
  return null;
}

/** Makes each traced method of `storage` (the most derived one) publish its calls. */
export function publishCalls(storage: Storage): void {
  for (const method of TRACED_METHODS) {
    const implementation = (storage as unknown as Record<string, unknown>)[method];
    if (typeof implementation !== 'function') continue;
    Object.defineProperty(storage, method, {
      configurable: true,
      writable: true,
      enumerable: false,
      value: function traced(this: Storage, ...args: unknown[]): unknown {
        if (!storageChannel.hasSubscribers || insideACall.getStore()) return implementation.apply(this, args);
        const started = performance.now();
        const publish = (result: unknown, error?: unknown): void => {
          storageChannel.publish({
            alias: storage.alias,
            backend: storage.constructor.name,
            method,
            name: typeof args[0] === 'string' ? args[0] : null,
            bytes: error === undefined ? bytesOf(method, args, result) : null,
            durationMs: performance.now() - started,
            ...(error === undefined ? {} : { error }),
          } satisfies StorageCall);
        };
        let result: unknown;
        try {
          result = insideACall.run(true, () => implementation.apply(this, args));
        } catch (error) {
          publish(undefined, error);
          throw error;
        }
        if (result instanceof Promise) {
          return result.then((value: unknown) => {
            publish(value);
            return value;
          }, (error: unknown) => {
            publish(undefined, error);
            throw error;
          });
        }
        publish(result);
        return result;
      },
    });
  }
}
