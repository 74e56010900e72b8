/**
 * Tab completion. Node's completer already offers the preloaded globals and, for `profile.picture.`,
 * the getters and methods of the whole prototype chain; it finds them by evaluating the expression
 * before the dot with the REPL's evaluator. This wrapper tells the evaluator when that happens, so a
 * completion never waits for a promise or shows a spinner, and it keeps, for filefield's own objects,
 * only their public API (publicApi.ts).
 */
import type { REPLServer } from 'node:repl';
import { publicNames } from './publicApi.ts';

type Completer = (line: string, callback: (error: Error | null, result?: [string[], string]) => void) => void;

export interface CompletionTracking {
  /** Whether a completion is being computed (the evaluator must not wait then). */
  isCompleting(): boolean;
  /** The evaluator reports the value of the expression before the dot here. */
  evaluated(value: unknown): void;
}

/** Keeps the completions whose last segment is a public name; '' separates Node's groups. */
function keepPublic(completions: string[], allowed: Set<string>): string[] {
  const kept = completions.filter((completion) => completion === '' || allowed.has(completion.slice(completion.lastIndexOf('.') + 1)));
  return kept.filter((completion, index) => completion !== '' || (index > 0 && index < kept.length - 1 && kept[index - 1] !== ''));
}

/** Wraps the server's completer. */
export function trackCompletion(server: REPLServer): CompletionTracking {
  const nodeCompleter = server.completer as unknown as Completer;
  let completing = false;
  let subject: { value: unknown } | null = null;
  const completer: Completer = function (this: REPLServer, line, callback) {
    subject = null;
    // Node evaluates synchronously from inside its completer: the flag covers exactly that call.
    completing = true;
    try {
      nodeCompleter.call(this, line, (error, result) => {
        const allowed = subject && publicNames(subject.value);
        subject = null;
        if (error || !result || !allowed || !/\.[\w$]*$/.test(line)) callback(error, result);
        else callback(null, [keepPublic(result[0], allowed), result[1]]);
      });
    } finally {
      completing = false;
    }
  };
  (server as unknown as { completer: Completer }).completer = completer;
  return {
    isCompleting: () => completing,
    evaluated: (value) => {
      if (completing) subject = { value };
    },
  };
}
