import type { MigrationStepMeta } from '../migrate/index.ts';
import type { ExpectedOutcome, ServerError, StepEvent } from '../sessions/index.ts';
import type { Row, RowWrite, View } from './world.ts';

/**
 * Which schema a statement met: the starting state's (`before`), the target's (`after`), or
 * one in between (`partial`: a migration that commits part of its work before the rest).
 */
export type SchemaPhase = 'before' | 'after' | 'partial';

export interface ModelContext {
  /** The starting state the database came from. */
  state: string;
  schema: SchemaPhase;
  /**
   * The constraints the state's database had before the migration, as PostgreSQL prints them
   * (`CHECK (…)`, `FOREIGN KEY (…) REFERENCES …`): what a model reads when the state's name
   * does not say what it enforces (a snapshot of the team's own database).
   */
  constraintsBefore?: readonly ConstraintFact[];
}

/** A constraint as the catalog prints it. */
export interface ConstraintFact {
  table: string;
  name: string;
  definition: string;
}

/** Who the model is asked about: the starting state, and what its database enforced before the migration. */
export type StartContext = Omit<ModelContext, 'schema'>;

/** What a statement does: its outcome, and the rows it writes if it succeeds. */
export interface Prediction {
  expect: ExpectedOutcome;
  writes?: readonly RowWrite[];
}

/** A statement ready to send, as a query builder compiled it. */
export interface Statement {
  sql: string;
  parameters: readonly unknown[];
}

/**
 * One operation of a suite with this run's keys: what it sends, and what the domain says it
 * does to the rows it sees (the suite's oracle, written from the rule, not from the SQL).
 * Several predictions mean each is admissible (e.g. while the schema is `partial`).
 */
export interface BoundOperation {
  label: string;
  statement: Statement;
  /** Required by the `model` oracle; a suite judged by the state differential leaves it out. */
  predict?(view: View, context: ModelContext): Prediction | readonly Prediction[];
}

/** A problem with a committed row that the domain forbids whatever the SQL says (e.g. an orphan). */
export type Invariant = (table: string, key: string, row: Row) => string | undefined;

/** What a writer session's step stands for. */
export type WriterAction = { kind: 'op'; op: BoundOperation } | { kind: 'begin' } | { kind: 'commit' } | { kind: 'rollback' };

export interface WriterStepMeta {
  kind: 'writer';
  action: WriterAction;
  /** How people read it: `completeDecision(d1, i2)`, `begin`. */
  label: string;
  /** Who sent it, when not a numbered session (`setup`). */
  who?: string;
}

/** The history of a run: every statement of every session, writers and the migration alike. */
export type HistoryEvent = StepEvent<WriterStepMeta | MigrationStepMeta>;

/** Where the model and the database disagreed. */
export interface Mismatch {
  /** The step (`s2 completeDecision(d0, i2)`) or `final table`. */
  where: string;
  expected: string;
  actual: string;
  /** The server's error, when what PostgreSQL did was to raise one. */
  error?: ServerError;
}
