import type { StepOutcome } from './step-outcome.ts';

/** One statement a session sends, with a short name for permutations (`insert`, `commit`). */
export interface SessionStep {
  name: string;
  sql: string;
  parameters?: readonly unknown[];
}

/** What happened to one step, in the order steps completed. */
export interface StepEvent {
  session: number;
  /** Index of the step in its session's program. */
  index: number;
  step: SessionStep;
  /** Order in which the step was sent (0-based, over all sessions). */
  issued: number;
  /** Order in which the step completed (0-based, over all sessions). */
  completed: number;
  /** The step waited on a lock held by another session at some point. */
  blocked: boolean;
  /** Sessions whose locks it waited on (from pg_blocking_pids). */
  blockedBy: number[];
  /** Milliseconds from send to completion. */
  ms: number;
  /** Cancelled by the executor after its timeout. */
  timedOut: boolean;
  outcome: StepOutcome;
}
