import type fc from 'fast-check';
import type pg from 'pg';
import type { ExpectedOutcome } from '../sessions/step-outcome.ts';

/** One generated operation; the suite gives it a readable label such as `insertDecision(d1, …)`. */
export interface Operation {
  readonly label: string;
}

/** A statement ready to send, as a query builder compiled it. */
export interface Statement {
  sql: string;
  parameters: readonly unknown[];
}

/**
 * A model-based write property, from a suite: generated operation sequences, each turned
 * into SQL and predicted by the suite's model. The engine runs the statements, compares every
 * outcome with its prediction, and asks the run for its final checks.
 */
export interface WriteScenario {
  /** Property name, e.g. `write-path-agrees-with-model`. */
  name: string;
  operations: fc.Arbitrary<readonly Operation[]>;
  /** A new run with its own keys and an empty model (no database clone needed). */
  begin(): WriteRun;
}

export interface WriteRun {
  /** The statement an operation sends, with this run's keys. */
  statement(operation: Operation): Statement;
  /** What the model predicts; the model advances as if the prediction came true. */
  predict(operation: Operation): ExpectedOutcome;
  /** After all steps: problems with the final table (vs the model) and invariants such as "no orphan". */
  finalProblems(client: pg.ClientBase): Promise<string[]>;
}
