/**
 * Turning `--trace` and `--print-sql` on and off. The printers (trace.ts) load only when one is on.
 */
import type { TraceOutput } from './trace.ts';

/**
 * Where trace lines go: standard output, for scripts too, as `--print-sql`'s statements do (shell_plus
 * prints its SQL there), so that both interleave in the order they happened.
 */
export function traceOutput(stream: NodeJS.WriteStream): TraceOutput {
  return { write: (text) => stream.write(text), colors: stream.hasColors?.() ?? false, terminal: stream.isTTY === true };
}

export class TraceSwitch {
  private stopStorage: (() => void) | undefined;

  constructor(private readonly output: TraceOutput) {}

  get storageCalls(): boolean {
    return this.stopStorage !== undefined;
  }

  async traceStorage(on: boolean): Promise<void> {
    if (on && !this.stopStorage) {
      const { traceStorage } = await import('./trace.ts');
      this.stopStorage = traceStorage(this.output);
    } else if (!on) {
      this.stopStorage?.();
      this.stopStorage = undefined;
    }
  }

  /** `--print-sql`, for the whole session. */
  async printSql(): Promise<void> {
    const { printSqlTo } = await import('./trace.ts');
    await printSqlTo(this.output);
  }
}

/** Applies `--trace` and `--print-sql`; returns the switch (`.trace on|off` uses it). */
export async function startTracing(options: { trace?: boolean; printSql?: boolean }, stream: NodeJS.WriteStream): Promise<TraceSwitch> {
  const tracing = new TraceSwitch(traceOutput(stream));
  if (options.printSql) await tracing.printSql();
  if (options.trace) await tracing.traceStorage(true);
  return tracing;
}
