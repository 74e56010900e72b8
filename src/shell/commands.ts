/**
 * The prompt's own commands beyond Node's: `.reload`, `.reset` and `.trace`. Their work loads when they
 * are first used (reload.ts, trace.ts).
 */
import type { SessionState } from './reload.ts';
import type { TraceSwitch } from './traceSwitch.ts';

export interface SessionCommand {
  help: string;
  /** Does the command's work; what it throws is printed as `.name: message`. */
  action(argument: string, output: NodeJS.WritableStream): Promise<void> | void;
}

export function sessionCommands(state: SessionState, tracing: TraceSwitch): Record<string, SessionCommand> {
  return {
    reload: {
      help: "Import the project's settings and models again after an edit, and say which names changed",
      async action(_argument, output) {
        const { reloadProject } = await import('./reload.ts');
        output.write(`${await reloadProject(state)}\n`);
      },
    },
    reset: {
      help: 'In a sandbox: discard the files and rows written in it and start again from the project',
      async action(_argument, output) {
        const { resetSandbox } = await import('./reload.ts');
        output.write(`${await resetSandbox(state)}\n`);
      },
    },
    trace: {
      help: 'Print each storage call a statement makes (.trace on | .trace off)',
      async action(argument, output) {
        if (argument === 'on' || argument === 'off') await tracing.traceStorage(argument === 'on');
        else output.write('.trace on | .trace off\n');
        output.write(`Storage calls are ${tracing.storageCalls ? '' : 'not '}printed.\n`);
      },
    },
  };
}
