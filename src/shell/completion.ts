/**
 * Tab completion. Node's completer already offers the preloaded globals and, for `profile.picture.`,
 * the getters and methods of the whole prototype chain; it finds them by evaluating the expression
 * before the dot with the REPL's evaluator. This wrapper tells the evaluator when that happens, so a
 * completion never waits for a promise or shows a spinner.
 */
import type { REPLServer } from 'node:repl';

type Completer = (line: string, callback: (error: Error | null, result?: [string[], string]) => void) => void;

/** Wraps the server's completer; the returned function says whether a completion is being computed. */
export function trackCompletion(server: REPLServer): () => boolean {
  const nodeCompleter = server.completer as unknown as Completer;
  let completing = false;
  const completer: Completer = function (this: REPLServer, line, callback) {
    // Node evaluates synchronously from inside its completer: the flag covers exactly that call.
    completing = true;
    try {
      nodeCompleter.call(this, line, callback);
    } finally {
      completing = false;
    }
  };
  (server as unknown as { completer: Completer }).completer = completer;
  return () => completing;
}
