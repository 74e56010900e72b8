/**
 * How results are shown. Node's REPL prints proxies as `Proxy [ target, handler ]`; `settings` and
 * `storage` are live proxies (they follow configure()), so the shell shows what they stand for instead;
 * and `storages` shows its storages rather than its internals.
 */
import { inspect, type InspectOptions } from 'node:util';
import { writer as nodeWriter } from 'node:repl';
import { settings } from '../conf/settings.ts';
import { defaultStorage, storages } from '../storage/handler.ts';

/** Named so that the REPL prints `Settings { MEDIA_ROOT: …, … }`. */
class Settings {}

/** Named so that the REPL prints `Storages { default: <FileSystemStorage …> }`. */
class Storages {
  [alias: string]: unknown;
}

function storagesByAlias(): Storages {
  const view = new Storages();
  for (const alias of storages.aliases()) {
    try {
      view[alias] = storages.get(alias);
    } catch (error) {
      view[alias] = `(not usable: ${(error as Error).message})`;
    }
  }
  return view;
}

function presentable(value: unknown): unknown {
  if (value === settings) return Object.assign(new Settings(), settings);
  if (value === storages) return storagesByAlias();
  if (value === defaultStorage) {
    try {
      return storages.get('default');
    } catch {
      return value;
    }
  }
  return value;
}

/** The REPL's writer: Node's options (with colors when the terminal has them) on presentable values. */
export function createWriter(colors: boolean): (value: unknown) => string {
  const options: InspectOptions = { ...(nodeWriter as unknown as { options: InspectOptions }).options, colors };
  return (value) => inspect(presentable(value), options);
}
