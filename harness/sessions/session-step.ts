import type { StepOutcome } from './step-outcome.ts';

/** The transaction status a session reported when a step finished: idle, in a transaction, or in a failed one. */
export type TransactionStatus = 'I' | 'T' | 'E';

/**
 * One statement a session sends, with a short name for permutations (`insert`, `commit`).
 * `meta` is what the statement stands for (an operation of a suite, a migration step): it
 * travels with the step into the history, where checkers read it.
 */
export interface SessionStep<Meta = unknown> {
  name: string;
  sql: string;
  parameters?: readonly unknown[];
  /** Sent when this step fails, before a program that stops on error stops (e.g. `ROLLBACK`). */
  recovery?: string;
  /** Send through the extended protocol as a named prepared statement (one parse per connection). */
  prepare?: boolean;
  meta?: Meta;
}

/** A session's statements, and whether it stops at the first error (as a deploy tool does). */
export interface Program<Meta = unknown> {
  steps: readonly SessionStep<Meta>[];
  stopOnError?: boolean;
}

/** What happened to one step: the history is a list of these. */
export interface StepEvent<Meta = unknown> {
  session: number;
  /** Index of the step in its session's program. */
  index: number;
  step: SessionStep<Meta>;
  /** Order in which the step was sent (0-based, over all sessions). */
  issued: number;
  /** Order in which the step's result arrived (0-based, over all sessions). */
  completed: number;
  /** When it was sent and when its result arrived, in ms from the start of the run. */
  start: number;
  end: number;
  /** The step waited on a lock held by another session at some point. */
  blocked: boolean;
  /** Sessions whose locks it waited on (from pg_blocking_pids). */
  blockedBy: number[];
  /** Cancelled by the executor after its timeout. */
  timedOut: boolean;
  outcome: StepOutcome;
  /** The session's transaction status right after the step. */
  txStatus: TransactionStatus;
}

/** Milliseconds from send to result. */
export function durationOf(event: Pick<StepEvent, 'start' | 'end'>): number {
  return event.end - event.start;
}

/** Events in the order their steps were sent. */
export function bySendOrder<E extends Pick<StepEvent, 'issued'>>(events: readonly E[]): E[] {
  return [...events].sort((a, b) => a.issued - b.issued);
}
