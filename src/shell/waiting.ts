/**
 * Waiting for a promise at the prompt: keys typed meanwhile wait their turn, a spinner shows after a
 * moment, and Ctrl+C stops the wait (the promise itself cannot be cancelled; it may still finish).
 */
import type { REPLServer } from 'node:repl';
import type { ReadStream } from 'node:tty';
import { startSpinner } from './spinner.ts';

export const SPINNER_LABEL = 'waiting for the promise… (Ctrl+C stops waiting)';

export class InterruptedWait extends Error {
  constructor() {
    super('Stopped waiting for the promise (Ctrl+C); it may still complete in the background.');
    this.name = 'InterruptedWait';
    // Where it was raised (a signal handler) says nothing: show the message alone.
    this.stack = `${this.name}: ${this.message}`;
  }
}

export class NeverSettled extends Error {
  constructor() {
    super('The promise can never settle: nothing is left running that could resolve or reject it.');
    this.name = 'NeverSettled';
    this.stack = `${this.name}: ${this.message}`;
  }
}

/** A settle() for scripts: a spinner, and an error rather than a silent exit for a promise left hanging. */
export function settleWithSpinner(promise: PromiseLike<unknown>): Promise<unknown> {
  const stopSpinner = startSpinner(process.stderr, SPINNER_LABEL);
  let onIdle: (() => void) | undefined;
  // Node ends a process whose event loop is empty even while a promise is awaited; 'beforeExit' is
  // the last moment to report that instead.
  const abandoned = new Promise<never>((_resolve, reject) => {
    onIdle = () => reject(new NeverSettled());
    process.once('beforeExit', onIdle);
  });
  return Promise.race([promise, abandoned]).finally(() => {
    stopSpinner();
    process.removeListener('beforeExit', onIdle!);
  });
}

/** A settle() for the interactive prompt of `server`. */
export function interactiveSettler(server: REPLServer): (promise: PromiseLike<unknown>) => Promise<unknown> {
  return (promise) => {
    const input = server.input as Partial<ReadStream>;
    const terminal = input.isTTY === true && typeof input.setRawMode === 'function';
    // Lines typed while waiting must not be evaluated before this result is shown: the prompt
    // resumes reading when it is displayed again.
    server.pause();
    // Out of raw mode, Ctrl+C becomes a real SIGINT that we can catch while no key is being read.
    const wasRaw = terminal && input.isRaw === true;
    if (wasRaw) input.setRawMode!(false);
    let onInterrupt: (() => void) | undefined;
    const interrupted = new Promise<never>((_resolve, reject) => {
      onInterrupt = () => reject(new InterruptedWait());
      process.once('SIGINT', onInterrupt);
    });
    const stopSpinner = startSpinner(process.stderr, SPINNER_LABEL);
    // With input paused, nothing may be left to keep the process alive; a promise nobody will settle
    // must still wait for Ctrl+C rather than end the session.
    const keepAlive = setInterval(() => {}, 60_000);
    return Promise.race([promise, interrupted]).finally(() => {
      clearInterval(keepAlive);
      stopSpinner();
      process.removeListener('SIGINT', onInterrupt!);
      if (wasRaw) input.setRawMode!(true);
    });
  };
}
