/**
 * How results are shown. Node's REPL prints proxies as `Proxy [ target, handler ]`; `settings` and
 * `storage` are live proxies (they follow configure()), so the shell shows what they stand for instead.
 */
import { inspect, type InspectOptions } from 'node:util';
import { writer as nodeWriter } from 'node:repl';
import { settings } from '../conf/settings.ts';
import { defaultStorage, storages } from '../storage/handler.ts';

/** Named so that the REPL prints `Settings { MEDIA_ROOT: …, … }`. */
class Settings {}

function presentable(value: unknown): unknown {
  if (value === settings) return Object.assign(new Settings(), settings);
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
