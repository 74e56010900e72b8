// Expected values come from CPython 3.12 and 3.13 (posixpath and pathlib.PurePosixPath, identical results);
// they are hard-coded so the suite needs no Python.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  basename,
  dirname,
  isAbsolute,
  join,
  normpath,
  pathParts,
  relpath,
  split,
  suffixes,
} from '../src/files/pythonPath.ts';

/** [path, split head, split tail, normpath, parts] */
const PATHS: ReadonlyArray<[string, string, string, string, string[]]> = [
  ['', '', '', '.', []],
  ['/', '/', '', '/', ['/']],
  ['//', '//', '', '//', ['//']],
  ['///', '///', '', '/', ['/']],
  ['a', '', 'a', 'a', ['a']],
  ['a/', 'a', '', 'a', ['a']],
  ['a//', 'a', '', 'a', ['a']],
  ['/a', '/', 'a', '/a', ['/', 'a']],
  ['//a', '//', 'a', '//a', ['//', 'a']],
  ['///a', '///', 'a', '/a', ['/', 'a']],
  ['a/b', 'a', 'b', 'a/b', ['a', 'b']],
  ['a/b/', 'a/b', '', 'a/b', ['a', 'b']],
  ['a//b', 'a', 'b', 'a/b', ['a', 'b']],
  ['/a/b/', '/a/b', '', '/a/b', ['/', 'a', 'b']],
  ['a/./b', 'a/.', 'b', 'a/b', ['a', 'b']],
  ['./a', '.', 'a', 'a', ['a']],
  ['a/..', 'a', '..', '.', ['a', '..']],
  ['../a', '..', 'a', '../a', ['..', 'a']],
  ['/..', '/', '..', '/', ['/', '..']],
  ['/../a', '/..', 'a', '/a', ['/', '..', 'a']],
  ['//../a', '//..', 'a', '//a', ['//', '..', 'a']],
  ['a/../..', 'a/..', '..', '..', ['a', '..', '..']],
  ['a/b/../../..', 'a/b/../..', '..', '..', ['a', 'b', '..', '..', '..']],
  ['.', '', '.', '.', []],
  ['..', '', '..', '..', ['..']],
  ['...', '', '...', '...', ['...']],
  ['a/.', 'a', '.', 'a', ['a']],
  ['/tmp/..', '/tmp', '..', '/', ['/', 'tmp', '..']],
  ['\\tmp\\..', '', '\\tmp\\..', '\\tmp\\..', ['\\tmp\\..']], // a backslash is an ordinary character on POSIX
  ['x//y//', 'x//y', '', 'x/y', ['x', 'y']],
  ['foo/bar.tar.gz', 'foo', 'bar.tar.gz', 'foo/bar.tar.gz', ['foo', 'bar.tar.gz']],
  ['//a//b', '//a', 'b', '//a/b', ['//', 'a', 'b']],
];

test('split, dirname and basename follow os.path', () => {
  for (const [path, head, tail] of PATHS) {
    assert.deepEqual(split(path), [head, tail], `split(${JSON.stringify(path)})`);
    assert.equal(dirname(path), head, `dirname(${JSON.stringify(path)})`);
    assert.equal(basename(path), tail, `basename(${JSON.stringify(path)})`);
  }
});

test('normpath follows os.path.normpath (exactly two leading slashes are kept)', () => {
  for (const [path, , , normalized] of PATHS) {
    assert.equal(normpath(path), normalized, `normpath(${JSON.stringify(path)})`);
  }
});

test('pathParts follows PurePosixPath.parts', () => {
  for (const [path, , , , parts] of PATHS) {
    assert.deepEqual(pathParts(path), parts, `pathParts(${JSON.stringify(path)})`);
  }
});

test('isAbsolute: only a leading slash counts', () => {
  assert.equal(isAbsolute('/a'), true);
  assert.equal(isAbsolute('//a'), true);
  assert.equal(isAbsolute('a/b'), false);
  assert.equal(isAbsolute(''), false);
  assert.equal(isAbsolute('\\a'), false);
});

test('join follows posixpath.join', () => {
  const cases: ReadonlyArray<[string[], string]> = [
    [['a', 'b'], 'a/b'],
    [['a/', 'b'], 'a/b'],
    [['a', '/b'], '/b'],
    [['', 'b'], 'b'],
    [['a', ''], 'a/'],
    [['a', 'b', '/c', 'd'], '/c/d'],
    [['/', 'a'], '/a'],
    [['a//', 'b'], 'a//b'],
    [['', ''], ''],
    [['a'], 'a'],
  ];
  for (const [[first = '', ...rest], expected] of cases) {
    assert.equal(join(first, ...rest), expected, `join(${JSON.stringify([first, ...rest])})`);
  }
});

test('suffixes: the reference examples (§2.6)', () => {
  const joined = (name: string) => suffixes(name).join('');
  assert.deepEqual(suffixes('a.tar.gz'), ['.tar', '.gz']);
  assert.equal(joined('a.tar.gz'), '.tar.gz');
  assert.deepEqual(suffixes('.test'), []);
  assert.deepEqual(suffixes('.a.b'), ['.b']);
  assert.deepEqual(suffixes('a..b'), ['.', '.b']);
  assert.equal(joined('a..b'), '..b');
  assert.deepEqual(suffixes('my.file name.txt'), ['.file name', '.txt']);
  assert.equal(joined('my.file name.txt'), '.file name.txt');
  assert.deepEqual(suffixes('archive.v1.2.tar.gz'), ['.v1', '.2', '.tar', '.gz']);
  assert.equal(joined('archive.v1.2.tar.gz'), '.v1.2.tar.gz');
  assert.deepEqual(suffixes('a.'), []);
});

test('suffixes: more PurePath cases, including the final component of a longer path', () => {
  const cases: ReadonlyArray<[string, string[]]> = [
    ['', []],
    ['.', []],
    ['..', []],
    ['/', []],
    ['a/.', []],
    ['dir/x.tar.gz', ['.tar', '.gz']],
    ['a/b.c/', ['.c']],
    ['...a.b', ['.b']],
    ['a.b.', []],
    ['noext', []],
    ['dotted.path/test', []],
    ['x.', []],
    ['a.b..c', ['.b', '.', '.c']],
    ['..a', []],
    ['a...', []],
    ['/x/y.z', ['.z']],
  ];
  for (const [name, expected] of cases) assert.deepEqual(suffixes(name), expected, `suffixes(${JSON.stringify(name)})`);
});

test('relpath follows os.path.relpath for absolute paths', () => {
  const cases: ReadonlyArray<[string, string, string]> = [
    ['/a/b/c', '/a', 'b/c'],
    ['/a', '/a/b/c', '../..'],
    ['/a', '/a', '.'],
    ['/a/b', '/c/d', '../../a/b'],
    ['/', '/a', '..'],
    ['/a', '/', 'a'],
    ['/a/./b/../c', '/a//', 'c'],
    ['//a', '/a', '.'],
    ['/a/b', '/a/bc', '../b'],
  ];
  for (const [target, start, expected] of cases) {
    assert.equal(relpath(target, start), expected, `relpath(${JSON.stringify(target)}, ${JSON.stringify(start)})`);
  }
});

test('relpath refuses what it cannot answer without a working directory', () => {
  assert.throws(() => relpath('', '/a'), { message: 'no path specified' });
  assert.throws(() => relpath('a', '/a'), /absolute paths/);
  assert.throws(() => relpath('/a', 'b'), /absolute paths/);
});
