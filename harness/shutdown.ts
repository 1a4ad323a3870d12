/**
 * Cleanup that must happen however a run ends: normal completion, a thrown error, or
 * SIGINT/SIGTERM. Resources register an async cleanup (stop a server, drop databases) and,
 * where possible, a synchronous last resort for the `exit` event (kill a child process,
 * remove a directory), because nothing asynchronous can run there.
 */

type AsyncCleanup = () => Promise<void>;
type SyncCleanup = () => void;

interface Registration {
  label: string;
  cleanup: AsyncCleanup;
  lastResort?: SyncCleanup;
}

const registrations = new Set<Registration>();
let exitHookInstalled = false;
let signalHandlersInstalled = false;
let stopping: Promise<void> | undefined;
let receivedSignal: NodeJS.Signals | undefined;

/** The signal that is stopping the run, if any. */
export function interruptedBy(): NodeJS.Signals | undefined {
  return receivedSignal;
}

export interface CleanupHandle {
  /** Runs the cleanup now (once) and forgets it. */
  run(): Promise<void>;
  /** Forgets the cleanup without running it. */
  release(): void;
}

export function registerCleanup(label: string, cleanup: AsyncCleanup, lastResort?: SyncCleanup): CleanupHandle {
  installExitHook();
  let done: Promise<void> | undefined;
  // one run, whoever asks first (the owner's close, or every cleanup on a signal): both wait for it
  const once = () => {
    registrations.delete(registration);
    done ??= cleanup();
    return done;
  };
  const registration: Registration = { label, cleanup: once, lastResort };
  registrations.add(registration);
  return {
    run: once,
    release() {
      registrations.delete(registration);
    },
  };
}

/** Runs every registered cleanup, newest first; errors are reported, never thrown. */
export async function runAllCleanups(log: (line: string) => void = (l) => process.stderr.write(l + '\n')): Promise<void> {
  const pending = [...registrations].reverse();
  registrations.clear();
  for (const registration of pending) {
    try {
      await registration.cleanup();
    } catch (error) {
      log(`cleanup of ${registration.label} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const registration of [...registrations].reverse()) {
      try {
        registration.lastResort?.();
      } catch {
        // the process is exiting; nothing more can be done
      }
    }
  });
}

/**
 * For programs that own the process (the CLI): on SIGINT/SIGTERM, tell long phases to stop,
 * run every cleanup, and exit 130/143. A library user keeps its own signal handling.
 */
export function installSignalHandlers(): void {
  if (signalHandlersInstalled) return;
  signalHandlersInstalled = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      const code = signal === 'SIGINT' ? 130 : 143;
      if (stopping) return; // a second signal while cleaning up: keep cleaning
      receivedSignal = signal;
      process.stderr.write(`\nconstraint-harness: ${signal} received, cleaning up…\n`);
      stopping = runAllCleanups().finally(() => process.exit(code));
    });
  }
}
