/**
 * The shell's evaluator: Node's own REPL evaluator (which keeps multi-line input, top-level await and
 * declarations that outlive one input), with TypeScript translated first and a promise-valued result
 * waited for, so `profile.picture.save(…)` shows the saved file rather than `Promise { <pending> }`.
 */
import { Recoverable, type REPLEval, type REPLServer } from 'node:repl';
import type { Context } from 'node:vm';
import { armPromiseWatch, declaredPromiseHint, disarmPromiseWatch, promisePropertyHint, watchPropertyReadsOnPromises } from './awaitHints.ts';
import { translate } from './typescript.ts';

type Callback = (error: Error | null, result?: unknown) => void;

export interface EvaluatorOptions {
  /** Waits for a promise that an input evaluated to (showing progress, allowing an interrupt). */
  settle(promise: PromiseLike<unknown>): Promise<unknown>;
  /** True while the REPL's completer evaluates the expression before a dot: never wait then. */
  isCompleting?(): boolean;
  /** Given the value an input evaluated to while completing (the object whose names Tab offers). */
  completed?(value: unknown): void;
  /** Told the input whose value is about to be shown. */
  inputDone?(code: string): void;
  /** Shows a one-line hint (a forgotten await and its corrected line) before the input's result. */
  hint?(text: string): void;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null
    && typeof (value as PromiseLike<unknown>).then === 'function';
}

/** The REPL treats a falsy error as success, so a promise rejected with nothing still needs an Error. */
function asRejection(reason: unknown): unknown {
  return reason ? reason : new Error(`The promise was rejected with ${String(reason)}.`);
}

export interface ShellEvaluator {
  eval: REPLEval;
  /**
   * To call when the REPL's domain reports an error: Node's evaluator sends a statement's runtime error
   * there, never to the evaluator's callback, and a hint about that statement is still due.
   */
  uncaught(): void;
}

/** Wraps Node's evaluator (`server.eval` as repl.start made it). */
export function createEvaluator(nodeEval: REPLEval, options: EvaluatorOptions): ShellEvaluator {
  if (options.hint) watchPropertyReadsOnPromises();
  /** The input being evaluated, while a hint about it may still be due. */
  let running: string | null = null;
  const hintAbout = (failed: boolean): void => {
    const code = running;
    running = null;
    const property = disarmPromiseWatch();
    if (code === null) return;
    const hint = property !== null ? promisePropertyHint(code, property) : failed ? null : declaredPromiseHint(code);
    if (hint) options.hint!(hint);
  };
  const evaluate = function evaluate(this: REPLServer, code: string, context: Context, file: string, callback: Callback): void {
    const completing = options.isCompleting?.() ?? false;
    let translation;
    try {
      translation = translate(code);
    } catch (error) {
      callback(error as Error);
      return;
    }
    if (translation.kind === 'incomplete') {
      callback(new Recoverable(translation.error));
      return;
    }
    const hinting = options.hint !== undefined && !completing;
    if (hinting) {
      running = code;
      armPromiseWatch();
    }
    // The REPL prints a result only when its callback gets two arguments: pass on what Node passed.
    nodeEval.call(this, translation.code, context, file, (...outcome: [Error | null, unknown?]) => {
      const [error, value] = outcome;
      if (hinting) hintAbout(Boolean(error));
      if (completing) options.completed?.(value);
      else options.inputDone?.(code);
      if (error || outcome.length < 2 || completing || !isThenable(value)) {
        callback(...outcome);
        return;
      }
      options.settle(value).then(
        (settled) => callback(null, settled),
        (reason: unknown) => callback(asRejection(reason) as Error),
      );
    });
  };
  return { eval: evaluate, uncaught: () => hintAbout(true) };
}
