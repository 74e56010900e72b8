/**
 * Python's POSIX path semantics (posixpath and PurePosixPath, CPython 3.12/3.13) as pure string functions.
 *
 * Django's name handling is defined in terms of these functions, and Node's `path.posix` differs from them in
 * ways that change results (for example `path.posix.dirname('a/')` is '.' where Python gives 'a', and
 * `path.posix.normalize` keeps a trailing slash and does not keep exactly two leading slashes). Reproducing
 * Python here keeps every name Django would accept or reject the same in the port.
 */

const SEPARATOR = '/';
const CURRENT_DIRECTORY = '.';
const PARENT_DIRECTORY = '..';

/** os.path.isabs / PurePosixPath.is_absolute: on POSIX only a leading slash makes a path absolute. */
export function isAbsolute(p: string): boolean {
  return p.startsWith(SEPARATOR);
}

/**
 * os.path.split: the tail is everything after the last slash. The head loses its trailing slashes,
 * except when it is nothing but slashes, so that the root stays distinguishable from ''.
 */
export function split(p: string): [head: string, tail: string] {
  const tailStart = p.lastIndexOf(SEPARATOR) + 1;
  const head = p.slice(0, tailStart);
  const tail = p.slice(tailStart);
  return [isAllSlashes(head) ? head : stripTrailingSlashes(head), tail];
}

/** os.path.basename: unlike Node's basename, a trailing slash gives '' ('dir/' has no file name). */
export function basename(p: string): string {
  return split(p)[1];
}

/** os.path.dirname ('a/' → 'a', 'a' → '', '/' → '/'). */
export function dirname(p: string): string {
  return split(p)[0];
}

/** posixpath.join: an absolute part discards everything before it; no normalisation happens. */
export function join(first: string, ...rest: string[]): string {
  let joined = first;
  for (const part of rest) {
    if (isAbsolute(part)) {
      joined = part;
    } else if (joined === '' || joined.endsWith(SEPARATOR)) {
      joined += part;
    } else {
      joined += SEPARATOR + part;
    }
  }
  return joined;
}

/**
 * os.path.normpath: purely lexical (symlinks are not consulted). '..' at the root is dropped, a leading
 * '..' of a relative path is kept, and POSIX lets exactly two leading slashes mean something
 * implementation-defined, so those are kept while three or more collapse to one.
 */
export function normpath(p: string): string {
  if (p === '') return CURRENT_DIRECTORY;
  const leadingSlashes = countRootSlashes(p);
  const kept: string[] = [];
  for (const component of p.split(SEPARATOR)) {
    if (component === '' || component === CURRENT_DIRECTORY) continue;
    const canGoUp = component === PARENT_DIRECTORY && kept.length > 0 && kept[kept.length - 1] !== PARENT_DIRECTORY;
    if (canGoUp) {
      kept.pop();
    } else if (component !== PARENT_DIRECTORY || leadingSlashes === 0) {
      kept.push(component);
    }
    // Otherwise this is '..' directly under the root, which stays at the root.
  }
  const normalized = SEPARATOR.repeat(leadingSlashes) + kept.join(SEPARATOR);
  return normalized === '' ? CURRENT_DIRECTORY : normalized;
}

/**
 * PurePosixPath(p).parts: empty and '.' components are dropped ('..' is kept, nothing is resolved).
 * An absolute path starts with its root as a part: '/' normally, '//' for exactly two leading slashes,
 * as CPython does for the same POSIX reason as normpath.
 */
export function pathParts(p: string): string[] {
  const rootSlashes = countRootSlashes(p);
  const components = p.split(SEPARATOR).filter((c) => c !== '' && c !== CURRENT_DIRECTORY);
  return rootSlashes === 0 ? components : [SEPARATOR.repeat(rootSlashes), ...components];
}

/**
 * PurePath(name).suffixes with the CPython 3.12/3.13 rules: the final component's extensions, each with its
 * leading dot. A component ending in '.' has none, and leading dots belong to the stem, so '.test' has none
 * and 'a..b' has ['.', '.b']. (CPython 3.14 changed the trailing-dot rule; Django 6 runs on 3.12+, and we
 * follow the versions it was verified on.)
 */
export function suffixes(name: string): string[] {
  const finalComponent = pureName(name);
  if (finalComponent.endsWith('.')) return [];
  const [, ...extensions] = stripLeadingDots(finalComponent).split('.');
  return extensions.map((extension) => '.' + extension);
}

/**
 * os.path.relpath for absolute paths. Python resolves relative arguments against the working directory;
 * this module stays pure, so it refuses them instead of guessing.
 */
export function relpath(target: string, start: string): string {
  if (target === '') throw new Error('no path specified');
  if (!isAbsolute(target) || !isAbsolute(start)) {
    throw new Error(`relpath() needs absolute paths, got '${target}' and '${start}'`);
  }
  const targetComponents = nonEmptyComponents(normpath(target));
  const startComponents = nonEmptyComponents(normpath(start));
  const shared = commonPrefixLength(targetComponents, startComponents);
  const relative = [
    ...Array<string>(startComponents.length - shared).fill(PARENT_DIRECTORY),
    ...targetComponents.slice(shared),
  ];
  return relative.length === 0 ? CURRENT_DIRECTORY : relative.join(SEPARATOR);
}

/** PurePath(p).name: the last real component; '' for the root or an empty path. */
function pureName(p: string): string {
  const parts = pathParts(p);
  const last = parts[parts.length - 1];
  return last === undefined || (parts.length === 1 && isAbsolute(last)) ? '' : last;
}

/** 2 for exactly two leading slashes, 1 for one or three or more, 0 for a relative path. */
function countRootSlashes(p: string): 0 | 1 | 2 {
  if (!isAbsolute(p)) return 0;
  return p.startsWith('//') && !p.startsWith('///') ? 2 : 1;
}

function isAllSlashes(s: string): boolean {
  return s !== '' && s.split('').every((c) => c === SEPARATOR);
}

function stripTrailingSlashes(s: string): string {
  let end = s.length;
  while (end > 0 && s[end - 1] === SEPARATOR) end--;
  return s.slice(0, end);
}

function stripLeadingDots(s: string): string {
  let start = 0;
  while (start < s.length && s[start] === '.') start++;
  return s.slice(start);
}

function nonEmptyComponents(p: string): string[] {
  return p.split(SEPARATOR).filter((c) => c !== '');
}

function commonPrefixLength(a: readonly string[], b: readonly string[]): number {
  let length = 0;
  while (length < a.length && length < b.length && a[length] === b[length]) length++;
  return length;
}
