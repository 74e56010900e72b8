/**
 * Replaying a prepared script at the prompt, for teaching: each line is typed into the prompt as a person
 * would type it (so it is echoed and continued exactly like typed input), run, and its value shown before
 * the next one starts. `step` waits for Enter before each statement; `delayMs` pauses before each one.
 * A comment line is narration: it is printed dimmed, not run.
 */
import { readFile } from 'node:fs/promises';
import type { REPLServer } from 'node:repl';
import { dim } from './errors.ts';

export interface ReplayOptions {
  /** Type each statement, then wait for Enter before running it. */
  step?: boolean;
  /** Pause this long before typing each statement. */
  delayMs?: number;
  colors: boolean;
  /** The main prompt, to tell a new statement from the continuation of an unfinished one. */
  prompt: string;
}

/** Resolves each time the server shows its prompt again (after a result, an error or a continued line). */
function promptWatcher(server: REPLServer): { next(): Promise<void>; stop(): void } {
  const waiting: (() => void)[] = [];
  const original = server.displayPrompt;
  server.displayPrompt = function displayPrompt(this: REPLServer, preserveCursor?: boolean) {
    original.call(this, preserveCursor);
    for (const resolve of waiting.splice(0)) resolve();
  };
  return {
    next: () => new Promise<void>((resolve) => waiting.push(resolve)),
    stop: () => {
      server.displayPrompt = original;
    },
  };
}

export async function readReplayFile(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  return text.replace(/\r\n?/g, '\n').replace(/\n$/, '').split('\n');
}

const NARRATION = /^\s*\/\//;

/** Plays the lines at the prompt of `server`; resolves once the last one has shown its result. */
export async function replay(server: REPLServer, lines: string[], options: ReplayOptions): Promise<void> {
  const prompts = promptWatcher(server);
  const atMainPrompt = (): boolean => server.getPrompt() === options.prompt;
  const terminal = (server as REPLServer & { terminal?: boolean }).terminal === true;
  try {
    for (const line of lines) {
      if (atMainPrompt()) {
        if (line.trim() === '') continue;
        if (NARRATION.test(line)) {
          // Above the prompt: clear it, say the comment, show the prompt again.
          server.output.write(`${terminal ? '\r\x1b[K' : '\n'}${dim(line.trim(), options.colors)}\n`);
          server.displayPrompt(true);
          continue;
        }
        if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
        if (options.step) {
          const entered = prompts.next();
          server.write(line);
          await entered; // the person pressed Enter (possibly after editing the line)
          continue;
        }
      }
      const shown = prompts.next();
      // Without a terminal nothing echoes what is typed: show the line as a terminal would.
      if (!terminal) server.output.write(`${line}\n`);
      server.write(`${line}\n`);
      await shown;
    }
  } finally {
    prompts.stop();
  }
}
