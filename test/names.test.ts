// Expected values come from Django's functions run under CPython 3.12 and 3.13 (identical results);
// they are hard-coded so the suite needs no Python.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SuspiciousFileOperation } from '../src/errors.ts';
import { filepathToUri, getValidFilename, validateFileName } from '../src/files/names.ts';

function assertSuspicious(run: () => unknown, message: string): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof SuspiciousFileOperation, `expected SuspiciousFileOperation, got ${String(error)}`);
    assert.equal(error.message, message);
    return true;
  });
}

const couldNotDerive = (name: string) => `Could not derive file name from '${name}'`;

test('getValidFilename: the reference examples (§2.2, §9 item 13)', () => {
  assert.equal(getValidFilename("john's portrait in 2004.jpg"), 'johns_portrait_in_2004.jpg');
  assert.equal(getValidFilename("^&'@{}[],$=!-#()%+~_123.txt"), '-_123.txt');
  assert.equal(getValidFilename('UnTRIVíAL @fil$ena#me!'), 'UnTRIVíAL_filename');
  assert.equal(getValidFilename('  x  y  '), 'x__y');
  assertSuspicious(() => getValidFilename('???'), couldNotDerive('???'));
  assertSuspicious(() => getValidFilename('$.$.$'), couldNotDerive('$.$.$'));
});

test('getValidFilename: names that leave nothing usable quote the original input', () => {
  for (const name of ['', '.', '..', ' . ', '\ufeff', '\u0345', '..\u0301']) {
    assertSuspicious(() => getValidFilename(name), couldNotDerive(name));
  }
});

test('getValidFilename: only U+0020 becomes an underscore; other whitespace is removed', () => {
  const cases: Array<[string, string]> = [
    ['a\u00a0b.txt', 'ab.txt'], // NBSP inside
    ['\u00a0a b\u00a0', 'a_b'], // NBSP stripped at the ends
    ['a\tb.txt', 'ab.txt'],
    ['\ta.txt\t', 'a.txt'],
    ['\u2028a\u2028b\u2028', 'ab'], // LINE SEPARATOR
    ['a\u2009b', 'ab'], // THIN SPACE
    ['\u3000全角\u3000', '全角'], // IDEOGRAPHIC SPACE
    ['\x1c\x1fa\x85', 'a'], // Python strips these; JS trim() would not
    ['a\u200bb', 'ab'], // ZERO WIDTH SPACE is not whitespace in Python, and not a word character either
  ];
  for (const [input, expected] of cases) assert.equal(getValidFilename(input), expected, JSON.stringify(input));
});

test('getValidFilename: U+FEFF is not whitespace to Python, so it is removed as a non-word character', () => {
  assert.equal(getValidFilename('\ufeffa.txt'), 'a.txt');
});

test('getValidFilename: Unicode letters and numerics are kept, marks and symbols removed', () => {
  const cases: Array<[string, string]> = [
    ['e\u0301.txt', 'e.txt'], // combining acute accent
    ['写真 2024.png', '写真_2024.png'], // CJK
    ['Ⅻ.txt', 'Ⅻ.txt'], // ROMAN NUMERAL TWELVE (Nl)
    ['½ cup.txt', '½_cup.txt'], // VULGAR FRACTION ONE HALF (No)
    ['²①', '²①'], // superscript two, circled digit one (No)
    ['١٢٣.txt', '١٢٣.txt'], // Arabic-Indic digits (Nd)
    ['ǅ', 'ǅ'], // titlecase letter (Lt)
    ['😀 smile.png', '_smile.png'], // emoji (So, astral)
    ['x\u0000y', 'xy'],
    ['a/b.txt', 'ab.txt'],
    ['-', '-'],
    ['_', '_'],
  ];
  for (const [input, expected] of cases) assert.equal(getValidFilename(input), expected, JSON.stringify(input));
});

test('validateFileName: the reference examples (§2.1, §9 item 14)', () => {
  assertSuspicious(() => validateFileName('a/b'), "File name 'a/b' includes path elements");
  assert.equal(validateFileName('a/b', { allowRelativePath: true }), 'a/b');
  assertSuspicious(() => validateFileName('/a/b', { allowRelativePath: true }), "Detected path traversal attempt in '/a/b'");
  assertSuspicious(
    () => validateFileName('\\a\\b', { allowRelativePath: true }),
    "Detected path traversal attempt in '\\a\\b'",
  );
  assertSuspicious(() => validateFileName('a/.', { allowRelativePath: true }), couldNotDerive('a/.'));
  assertSuspicious(() => validateFileName('a/.'), couldNotDerive('a/.'));
  assertSuspicious(() => validateFileName('dir/'), couldNotDerive('dir/'));
});

test('validateFileName: names without a usable final component', () => {
  for (const [name, allowRelativePath] of [
    ['', false],
    ['.', false],
    ['..', true],
    ['dir/', true],
    ['a/b/..', true],
  ] as const) {
    assertSuspicious(() => validateFileName(name, { allowRelativePath }), couldNotDerive(name));
  }
});

test('validateFileName: traversal with relative paths allowed', () => {
  for (const name of ['../a', 'a/../b', 'a\\..\\b', '//a']) {
    assertSuspicious(
      () => validateFileName(name, { allowRelativePath: true }),
      `Detected path traversal attempt in '${name}'`,
    );
  }
  for (const name of ['a/./b', 'a//b', 'x.txt', '...', 'a/..b']) {
    assert.equal(validateFileName(name, { allowRelativePath: true }), name);
  }
});

test('validateFileName: backslashes are not separators for a bare file name (POSIX basename)', () => {
  for (const name of ['a\\..', 'a\\..\\b', 'a\\b', 'x.txt']) assert.equal(validateFileName(name), name);
  assert.equal(validateFileName('x.txt', {}), 'x.txt');
});

test('filepathToUri: the reference examples (§2.3, §9 item 15, §9 items 40-41)', () => {
  assert.equal(filepathToUri('upload\\чубака.mp4'), 'upload/%D1%87%D1%83%D0%B1%D0%B0%D0%BA%D0%B0.mp4');
  assert.equal(filepathToUri(null), null);
  assert.equal(filepathToUri(undefined), null);
  assert.equal(filepathToUri("~!*()'@#$%^&*abc`+ =.file"), "~!*()'%40%23%24%25%5E%26*abc%60%2B%20%3D.file");
  assert.equal(filepathToUri('ab\0c'), 'ab%00c');
  assert.equal(filepathToUri('a/b\\c.file'), 'a/b/c.file');
});

test('filepathToUri: UTF-8 encoding and reserved characters', () => {
  assert.equal(filepathToUri(''), '');
  assert.equal(filepathToUri('😀/é ü'), '%F0%9F%98%80/%C3%A9%20%C3%BC');
  assert.equal(filepathToUri('a?b#c&d=e;f:g,h[i]'), 'a%3Fb%23c%26d%3De%3Bf%3Ag%2Ch%5Bi%5D');
  assert.equal(filepathToUri('\u00a0\ufeff'), '%C2%A0%EF%BB%BF');
});
