import type fc from 'fast-check';
import type pg from 'pg';
import type { SessionStep, StepEvent } from '../sessions/index.ts';
import type { StartingState } from '../states/index.ts';

/** A generated concurrent case: one flow per writer session, and who takes the next step. */
export interface ConcurrentCase<Flow extends { label: string } = { label: string }> {
  flows: readonly Flow[];
  /** Session indices (taken modulo the number of sessions); shrinks like any array. */
  schedule: readonly number[];
}

/** How a run is set up: plain, or with the target migration deployed as one more session. */
export interface ConcurrentSetup {
  state: StartingState;
  /** Index of the session that applies the migration, when this run is a live deploy. */
  deploySession?: number;
}

/**
 * A concurrency property from a suite: generated flows and schedules, turned into one program
 * per session; after the executor ran them, the suite's model is replayed over the events in
 * their observed completion order.
 */
export interface ConcurrencyScenario {
  name: string;
  cases: fc.Arbitrary<ConcurrentCase>;
  /** The most writer sessions a case uses. */
  maxSessions: number;
  /** States in which the migration is also deployed live, as a step of the schedule. */
  deployStates: readonly string[];
  begin(setup: ConcurrentSetup, flows: ConcurrentCase['flows']): ConcurrentRun;
}

export interface ConcurrentRun {
  /** Statements run (autocommit, before the schedule) to create what flows share. */
  setup: SessionStep[];
  /** One program per writer session, in the order of the flows. */
  programs: SessionStep[][];
  /** Problems found by replaying the model over the events and comparing the final table. */
  check(events: readonly StepEvent[], client: pg.ClientBase): Promise<ConcurrencyProblem[]>;
}

/** Where the model and the database disagreed. */
export interface ConcurrencyProblem {
  /** The step (`s2 completeDecision(d0, i2)`) or `final table`. */
  where: string;
  expected: string;
  actual: string;
}
