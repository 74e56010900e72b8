/**
 * Forgotten `await`s. The shell waits for a promise that a whole input evaluates to, but not for one
 * stored in a declaration (`const last = Profile.objects.last()`) or read through (`….last().picture`):
 * both give confusing results (a pending promise, `undefined`, a bare TypeError). These helpers notice
 * them and write the corrected line.
 */
import { runInThisContext } from 'node:vm';

/** `const name = value` (one declarator, on one line, without await), with an optional type. */
const DECLARATION = /^(\s*(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=]+)?=\s*)(?!await\b)(\S[^;]*?)\s*;?\s*$/;

/** The corrected line when `code` declared a name whose value is now a promise; else null. */
export function declaredPromiseHint(code: string): string | null {
  const match = DECLARATION.exec(code.trim().includes('\n') ? '' : code.trim());
  if (!match) return null;
  const [, head, name, value] = match;
  let declared: unknown;
  try {
    // The REPL runs on the real global object, so a top-level declaration is visible here.
    declared = runInThisContext(name!);
  } catch {
    return null;
  }
  // A promise only: a lazy, awaitable query (a QuerySet) is meant to be kept and chained.
  if (!(declared instanceof Promise)) return null;
  return `${name} is a Promise, not its value; to keep the value: ${head}await ${value}`;
}

let armed = false;
let readOnPromise: string | null = null;

/**
 * Puts a proxy between Promise.prototype and Object.prototype, so that reading a property that no
 * promise has (`promise.picture`) is seen; it records only while an input is being evaluated.
 */
export function watchPropertyReadsOnPromises(): void {
  const above = Object.getPrototypeOf(Promise.prototype) as object;
  if ((above as { [WATCHED]?: true })[WATCHED]) return;
  const watcher = new Proxy(above, {
    get(target, property, receiver) {
      if (property === WATCHED) return true;
      if (armed && readOnPromise === null && typeof property === 'string' && receiver instanceof Promise && !(property in target)) {
        readOnPromise = property;
      }
      return Reflect.get(target, property, receiver);
    },
  });
  Object.setPrototypeOf(Promise.prototype, watcher);
}

const WATCHED = Symbol('filefield.shell.watchesPromises');

/** Starts recording property reads on promises (for one input). */
export function armPromiseWatch(): void {
  armed = true;
  readOnPromise = null;
}

/** Stops recording; returns the first property read on a promise since armPromiseWatch(), if any. */
export function disarmPromiseWatch(): string | null {
  armed = false;
  const property = readOnPromise;
  readOnPromise = null;
  return property;
}

const CLOSERS: Record<string, string> = { ')': '(', ']': '[' };

/** Where the member chain that ends just before `end` starts (`Profile.objects.last()` of `….picture`). */
function chainStart(code: string, end: number): number {
  let index = end;
  while (index > 0) {
    const char = code[index - 1]!;
    if (char in CLOSERS) {
      let depth = 0;
      let scan = index - 1;
      for (; scan >= 0; scan--) {
        if (code[scan] === char) depth++;
        else if (code[scan] === CLOSERS[char]) depth--;
        if (depth === 0) break;
      }
      if (scan < 0) return index;
      index = scan;
    } else if (/[\w$.?]/.test(char)) {
      index--;
    } else {
      break;
    }
  }
  return index;
}

/** The corrected line when `property` was read on a promise in `code`; else null. */
export function promisePropertyHint(code: string, property: string): string | null {
  const line = code.trim();
  const read = new RegExp(`\\??\\.${property.replace(/[$]/g, '\\$')}(?![\\w$])`).exec(line);
  if (!read || read.index === 0) return `.${property} was read on a Promise, not on its value: await the promise first`;
  const start = chainStart(line, read.index);
  const promised = line.slice(start, read.index);
  if (promised === '') return null;
  const corrected = `${line.slice(0, start)}(await ${promised})${line.slice(read.index)}`;
  return `.${property} was read on a Promise, not on its value; await it first: ${corrected}`;
}
