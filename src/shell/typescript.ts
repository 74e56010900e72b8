/**
 * TypeScript at the prompt: input that is not JavaScript is turned into JavaScript with esbuild before
 * Node's evaluator sees it. Plain JavaScript is passed through untouched, so the common case never
 * loads esbuild (its first transform costs tens of milliseconds) and keeps Node's own error messages.
 */
import { createRequire } from 'node:module';
import { Script } from 'node:vm';
import type { TransformOptions } from 'esbuild';

export type Translation =
  /** JavaScript for Node's evaluator (the input itself, or what esbuild made of it). */
  | { kind: 'javascript'; code: string }
  /** The input stops in the middle of a construct: the REPL should wait for more lines. */
  | { kind: 'incomplete'; error: SyntaxError };

type Esbuild = typeof import('esbuild');
let esbuild: Esbuild | undefined;

function loadEsbuild(): Esbuild {
  // Loaded on the first TypeScript input only: most sessions and scripts never need it.
  esbuild ??= createRequire(import.meta.url)('esbuild') as Esbuild;
  return esbuild;
}

const TRANSFORM_OPTIONS: TransformOptions = {
  loader: 'ts',
  // No `format`: esbuild then leaves top-level await, const and let exactly where they are, and
  // Node's REPL keeps handling them (await wrapping, declarations that outlive one input). The running
  // Node as target: what it lacks (`await using` on Node 20) is lowered, the rest left as written.
  target: `node${process.versions.node}`,
  charset: 'utf8',
  sourcemap: false,
  // Keep `import x from 'y'` instead of dropping it as unused, so Node can say how to write it instead.
  tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true, useDefineForClassFields: true } },
};

/** V8's messages for input that merely stops early; Node's evaluator recognises these itself. */
const JAVASCRIPT_INCOMPLETE = /^(Unexpected end of input|Unterminated template literal)/;

function compiles(code: string): SyntaxError | null {
  try {
    new Script(code, { filename: 'shell-input' });
    return null;
  } catch (error) {
    if (error instanceof SyntaxError) return error;
    throw error;
  }
}

/** Node wraps `{ a: 1 }` in parentheses to read it as an object, not a block; so do we. */
function looksLikeObjectLiteral(code: string): boolean {
  return /^\s*\{/.test(code) && /\}\s*;?\s*$/.test(code);
}

/**
 * Whether Node's evaluator should get the input as it is: it is JavaScript (possibly with top-level
 * await, which only compiles inside an async function), or it is JavaScript that has not ended yet.
 */
function isJavaScript(code: string): boolean {
  const asScript = compiles(code);
  if (asScript === null || JAVASCRIPT_INCOMPLETE.test(asScript.message)) return true;
  if (compiles(`(async () => {\n${code}\n})`) === null) return true;
  return looksLikeObjectLiteral(code) && compiles(`(${code.trim().replace(/;$/, '')})`) === null;
}

interface EsbuildFailure {
  errors: { text: string }[];
}

function isEsbuildFailure(error: unknown): error is EsbuildFailure {
  return typeof error === 'object' && error !== null && Array.isArray((error as EsbuildFailure).errors);
}

/** esbuild's ways of saying that the input ended too soon, rather than that it is wrong. */
function isIncomplete(failure: EsbuildFailure, code: string): boolean {
  return failure.errors.some(({ text }) =>
    /end of file/i.test(text)
    // A template literal may span lines; esbuild reports an open one as an unterminated string.
    || (text === 'Unterminated string literal' && (code.match(/`/g)?.length ?? 0) % 2 === 1));
}

function transform(code: string): string {
  return loadEsbuild().transformSync(code, TRANSFORM_OPTIONS).code;
}

/** Turns one input of the prompt (possibly several lines) into what Node's evaluator should run. */
export function translate(code: string): Translation {
  if (isJavaScript(code)) return { kind: 'javascript', code };
  if (looksLikeObjectLiteral(code)) {
    try {
      return { kind: 'javascript', code: transform(`(${code.trim().replace(/;$/, '')})`) };
    } catch {
      // Not an object after all (a block with types in it): transform it as it is.
    }
  }
  try {
    const javascript = transform(code);
    // Only types (an interface, a type alias): nothing to run, nothing to show.
    return { kind: 'javascript', code: javascript.trim() === '' ? '\n' : javascript };
  } catch (error) {
    if (!isEsbuildFailure(error)) throw error;
    if (isIncomplete(error, code)) return { kind: 'incomplete', error: new SyntaxError(error.errors[0]!.text) };
    // Wrong in TypeScript as in JavaScript: Node's evaluator reports it the way Node users know.
    return { kind: 'javascript', code };
  }
}
