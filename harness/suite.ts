/**
 * The suite API: the one file a suite under `properties/` imports. A suite is data and a
 * model: the starting states, the tables its rows live in, how its operations are sent and
 * what the domain says they do, and the generators of its write and concurrency properties.
 * The engine does everything else (servers, states, migrations, sessions, orders, checks,
 * shrinking, reports) and never imports a suite.
 */
import type fc from 'fast-check';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BoundOperation, Invariant } from './check/model.ts';
import type { View } from './check/world.ts';
import type { StartingState } from './states/starting-state.ts';

export type { BoundOperation, Invariant, ModelContext, Prediction, SchemaPhase, Statement } from './check/model.ts';
export type { Row, RowWrite, Value, View } from './check/world.ts';
export type { ExpectedOutcome } from './sessions/step-outcome.ts';
export { beforeTarget, target, type RevisionRef } from './migrate/chain.ts';
export { defineConfig, type Declaration, type DomainPredicate, type Drift } from './derive/declaration.ts';
export { refused } from './check/expected-errors.ts';
/** fast-check, as the harness uses it: a suite's generators need no fast-check of their own. */
export { default as fc } from 'fast-check';
export {
  generatedRows,
  migratedTo,
  migratedToBeforeTarget,
  migratedToTarget,
  runSql,
  stampedAt,
  type Expectation,
  type GeneratedRows,
  type RowSlice,
  type StartingState,
  type StateStep,
} from './states/starting-state.ts';

/**
 * A table the suite's rows live in. After every run the harness reads back every row of it
 * and compares them with the model's (or the reference's).
 *
 * @example
 * { name: 'orders', key: 'id', columns: { customer: 'customer_id', qty: 'qty', shipped: 'shipped_at IS NOT NULL' } }
 */
export interface TableSpec {
  /** The table, as SQL names it (`orders`, `shop.orders`). */
  name: string;
  /**
   * Its key column, or its key columns for a composite key (`['order_id', 'line']`). A row is
   * known to the model by its key as text: `42`, a UUID, or a composite key's row text `(42,1)`.
   * Any type works: `bigint`, `integer`, `text`, `uuid`.
   */
  key: string | readonly string[];
  /**
   * The columns the model reads, each a SQL expression over the row, read back as JSON
   * (`json_build_object`): name → expression. A number stays a number, a boolean a boolean,
   * `numeric`, dates and timestamps come back as strings.
   */
  columns: Readonly<Record<string, string>>;
}

/**
 * Keys of one run, so that runs share a database without meeting: `fresh('o1', 'orders')` is a
 * new key of the `orders` table's key type (from the catalog: an integer above every key the
 * state holds, a UUID, or a text unique to the run); the same name gives the same key within a
 * run. Without a table, a UUID.
 */
export interface RunKeys {
  fresh(name: string, table?: string): string;
  /** A short random text unique to the run (for request ids and the like). */
  readonly tag: string;
}

/** What an operation is bound against: the run's keys, and the rows the state started with. */
export interface RunContext {
  keys: RunKeys;
  /** The rows of the suite's tables as they were when the run began (read back after the migration, or before a live deploy). */
  base: View;
}

/** One step of a session in a concurrent case. */
export type CaseStep<Op> = { kind: 'op'; op: Op } | { kind: 'begin' } | { kind: 'commit' } | { kind: 'rollback' };

/** A generated concurrent case: what runs before, one program per writer session, and who takes the next step. */
export interface ConcurrentCase<Op> {
  /** Operations run on their own before the schedule (rows the flows share). */
  setup: readonly Op[];
  /** Each writer session's steps, in order (a `begin` … `commit` makes a transaction). */
  sessions: readonly (readonly CaseStep<Op>[])[];
  /** How people read each session's flow. */
  labels: readonly string[];
  /** Session indices (modulo the number of sessions, the deploying session included); shrinks like any array. */
  schedule: readonly number[];
}

/** Random sequences of operations by one session, each checked against the model. */
export interface WritesProperty<Op> {
  /** The property's name in reports (`orders-agree-with-model`). */
  name: string;
  /** The sequences, generated and shrunk by fast-check. */
  operations: fc.Arbitrary<readonly Op[]>;
}

/** Several sessions at once; in `deployStates` the migration is also deployed as one more session. */
export interface ConcurrencyProperty<Op> {
  /** The property's name in reports. */
  name: string;
  /** The cases, generated and shrunk by fast-check. */
  cases: fc.Arbitrary<ConcurrentCase<Op>>;
  /** The most writer sessions a case uses. */
  maxSessions: number;
  /** The states a live deploy starts from (the migration deployed among the writers); none: no live deploy. */
  deployStates: readonly string[];
}

/**
 * What judges the writes:
 * - `model` (the default): each operation's `predict`, written from the domain rule;
 * - `state-differential`: no rule; each migrated state must accept and refuse exactly the writes
 *   its reference accepts and refuses (the chain applied to an empty database, holding the same
 *   rows), with the same SQLSTATE and constraint, and end with the same rows.
 */
export type Oracle = 'model' | 'state-differential';

/**
 * A suite: what a team declares about its chain and its domain. `Op` is the type of its
 * operations (data that fast-check generates); `bind` turns one into SQL and a prediction.
 * Write it in one file that default-exports `defineSuite({ … })`, and load it with
 * `--suite path`; or let the harness derive one (`--suite auto`, a declaration).
 */
export interface Suite<Op = unknown> {
  /** The suite's name in reports. */
  name: string;
  /** How writes are judged (default `model`). */
  oracle?: Oracle;
  /**
   * `required` (the default): applying the target revision a second time, unrecorded, must
   * raise nothing and change nothing, from every state that converges. `interrupted-deploys-only`:
   * only the re-runs the runner can cause are checked, by the interrupted-deploy states (a runner
   * that records each revision in the revision's own transaction never re-runs a recorded one).
   */
  idempotency?: 'required' | 'interrupted-deploys-only';
  /**
   * What a migration that succeeds must do to the rows a state holds: `unchanged` (the default)
   * or `kept` (no row lost or added; a backfill may change them).
   */
  rows?: 'unchanged' | 'kept';
  /** The migration chain the suite ships (used when --migrations is not given); a relative path is relative to the suite's file. */
  migrationsDir: string;
  /** The revision verified by default; without it, the chain's last. */
  target?: string;
  /** The starting states, each with what the migration must do from it. */
  states: StartingState[];
  /** The tables its rows live in, read back after every run. */
  tables: readonly TableSpec[];
  /** An operation with this run's keys: its statement and its prediction. */
  bind(op: Op, run: RunContext): BoundOperation;
  /** A row the domain forbids whatever the SQL says (e.g. an orphan): checked on every row a run wrote. */
  invariant?: Invariant;
  /** One session's random sequences of operations. */
  writes?: WritesProperty<Op>;
  /** Several sessions at once, and the live deploy. */
  concurrency?: ConcurrencyProperty<Op>;
}

const ENGINE = path.dirname(fileURLToPath(import.meta.url));
/** Where `npm run build` puts the compiled sources (dist/, beside harness/ and properties/), when this module is the compiled one. */
const BUILD = import.meta.url.endsWith('.js') ? path.dirname(ENGINE) : undefined;

/**
 * A path relative to a suite's source file, e.g. `besideSource(import.meta.url, '../../migrations')`.
 * It is the same whether the suite runs from its TypeScript source or compiled into dist/,
 * where its chain is not.
 */
export function besideSource(moduleUrl: string, relative: string): string {
  const resolved = path.resolve(path.dirname(fileURLToPath(moduleUrl)), relative);
  if (!BUILD || !fileURLToPath(moduleUrl).startsWith(BUILD + path.sep)) return resolved;
  return path.resolve(path.dirname(BUILD), path.relative(BUILD, path.dirname(fileURLToPath(moduleUrl))), relative);
}

/** Declares a suite (the identity, typed: a suite's file reads `export default defineSuite({ … })`). */
export function defineSuite<Op>(suite: Suite<Op>): Suite<Op> {
  return suite;
}
