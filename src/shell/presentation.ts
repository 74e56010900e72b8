/**
 * How results are shown. Node's REPL prints proxies as `Proxy [ target, handler ]`; `settings` and
 * `storage` are live proxies (they follow configure()), so the shell shows what they stand for instead;
 * `storages` shows its storages rather than its internals. Everything is laid out for the terminal's
 * width (an unknown width, 0, counts as 80), and permission modes print in octal, as they are written.
 */
import { inspect, type InspectOptions } from 'node:util';
import { writer as nodeWriter } from 'node:repl';
import { settings } from '../conf/settings.ts';
import { Storage } from '../storage/Storage.ts';
import { defaultStorage, storages } from '../storage/handler.ts';
import { effectiveColumns } from './errors.ts';

/** Named so that the REPL prints `Settings { MEDIA_ROOT: …, … }`. */
class Settings {}

/** Named so that the REPL prints `Storages { default: <FileSystemStorage …> }`. */
class Storages {
  [alias: string]: unknown;
}

/** A permission mode, shown as it is written in settings (0o644), not as the decimal 420. */
class Mode {
  constructor(readonly value: number) {}

  [inspect.custom](_depth: number, options: { stylize(text: string, style: string): string }): string {
    return options.stylize(`0o${this.value.toString(8)}`, 'number');
  }
}

/** A storage on one line, or one `key=value` a line when the line would not fit. */
class StorageView {
  constructor(readonly storage: Storage) {}

  [inspect.custom](_depth: number, options: { breakLength?: number }): string {
    const oneLine = inspect(this.storage);
    if (oneLine.length <= (options.breakLength ?? Infinity)) return oneLine;
    return oneLine.split(/ (?=[\w.-]+=)/).join('\n  ');
  }
}

const MODE_NAME = /(PERMISSIONS|[mM]ode)$/;
/** An input that ends by reading a mode (`settings.FILE_UPLOAD_PERMISSIONS`), so its number is one. */
const READS_A_MODE = /(PERMISSIONS|[mM]ode)\s*;?\s*$/;

function storageView(storage: Storage): StorageView | Storage {
  return storage instanceof Storage ? new StorageView(storage) : storage;
}

function storagesByAlias(): Storages {
  const view = new Storages();
  for (const alias of storages.aliases()) {
    try {
      view[alias] = storageView(storages.get(alias));
    } catch (error) {
      view[alias] = `(not usable: ${(error as Error).message})`;
    }
  }
  return view;
}

function settingsView(): Settings {
  const view = new Settings() as Record<string, unknown>;
  for (const [key, value] of Object.entries(settings)) {
    view[key] = MODE_NAME.test(key) && Number.isInteger(value) ? new Mode(value as number) : value;
  }
  return view;
}

function presentable(value: unknown, input: string): unknown {
  if (value === settings) return settingsView();
  if (value === storages) return storagesByAlias();
  if (value === defaultStorage) {
    try {
      return storageView(storages.get('default'));
    } catch {
      return value;
    }
  }
  if (value instanceof Storage) return storageView(value);
  if (Number.isInteger(value) && READS_A_MODE.test(input)) return new Mode(value as number);
  return value;
}

export interface Writer {
  (value: unknown): string;
  /** Tells the writer what the input was whose value it shows next (a mode is known by its name). */
  noteInput(code: string): void;
}

/** The REPL's writer: Node's options (with colors when the terminal has them), as wide as the terminal. */
export function createWriter(colors: boolean, columns: () => number | undefined): Writer {
  const options: InspectOptions = { ...(nodeWriter as unknown as { options: InspectOptions }).options, colors };
  let input = '';
  const write = (value: unknown): string => {
    const shown = inspect(presentable(value, input), { ...options, breakLength: effectiveColumns(columns()) });
    input = '';
    return shown;
  };
  return Object.assign(write, { noteInput: (code: string) => void (input = code) });
}
