import type { ServerError } from '../sessions/step-outcome.ts';
import type { Expectation } from '../states/index.ts';

/** Reported when a migration that must converge does not reach the target (any group). */
export const REACHES_TARGET = 'migration-reaches-target';
/** Reported in every state when the chain does not apply to an empty database. */
export const CHAIN_APPLIES = 'chain-applies-to-empty-database';
/** Reported when a state cannot be built from the chain (its template, or with a history). */
export const STATE_BUILDS = 'state-builds';

export type MigrationOutcome = 'converged' | 'noop' | 'failed-atomically' | 'drift' | 'refused' | 'failed';

export interface MigrationFailure {
  message: string;
  sqlstate?: string;
  constraint?: string;
  table?: string;
  /** The column a NOT NULL violation names (23502 names the column, not a constraint). */
  column?: string;
  /** Rows that violate what the migration tried to add, counted after the failure. */
  violatingRows?: number;
  /** The first violating rows' keys (at most 20), and the SELECT that lists every one of them. */
  violatingKeys?: string[];
  selectViolating?: string;
  /** The server's error: message, DETAIL, HINT. */
  server?: ServerError;
}

/** Everything observed when migrating one copy of a state to the target revision. */
export interface MigrationObservation {
  outcome: MigrationOutcome;
  applied: string[];
  failure?: MigrationFailure;
  /** Differences from the catalog reached from an empty database (empty = converged). */
  catalogDiff: string[];
  /** A snapshot's own drift outside the chain, which the migration left as it was (not part of `catalogDiff`). */
  keptDrift?: string[];
  /** Tables whose pre-existing rows changed or disappeared. */
  dataChanges: string[];
  /** After a failure: what changed anyway, catalog and data (empty = atomic). */
  leftovers: string[];
  /** Problems when the target revision is applied a second time (empty = idempotent). */
  reapplyProblems: string[];
  /** The server's error when applying it a second time raised one. */
  reapplyError?: ServerError;
  /** Rows the state's history generator made violating the constraint under test, if it says. */
  generatedViolating?: number;
}

/** Which outcomes satisfy which expectation (SPEC §4). */
export const ACCEPTED: Record<Expectation, readonly MigrationOutcome[]> = {
  converge: ['converged', 'noop'],
  noop: ['noop'],
  'fail-atomically': ['failed-atomically'],
  drift: ['drift'],
  refuse: ['refused'],
};

/** What each expectation means, for counterexamples. */
export const EXPECTED: Record<Expectation, string> = {
  converge: 'converged (catalog equal to fresh, rows kept, idempotent)',
  noop: 'noop (nothing applied, nothing changed)',
  'fail-atomically': 'failed-atomically (error names the constraint and counts the violating rows; catalog and data unchanged)',
  drift: 'drift (recorded as applied, catalog differs from the target)',
  refuse: "refused (the tool's own check stops the deploy before anything is applied; catalog and data unchanged)",
};

/** What a migration that succeeds must do to the rows it finds: leave every one unchanged, or keep them (as many, contents free: a backfill). */
export type RowsRule = 'unchanged' | 'kept';

/** A fact every run of a state's migration must satisfy: a problem, or nothing. */
export interface MigrationCheck {
  name: string;
  appliesTo: readonly Expectation[];
  problem(observation: MigrationObservation, expect: Expectation, rows: RowsRule): string | undefined;
}

export const MIGRATION_CHECKS: readonly MigrationCheck[] = [
  {
    name: 'outcome-as-expected',
    appliesTo: ['converge', 'noop', 'fail-atomically', 'drift', 'refuse'],
    problem: (o, expect) => (ACCEPTED[expect].includes(o.outcome) ? undefined : `${o.outcome}${o.failure ? `: ${o.failure.message}` : ''}`),
  },
  {
    name: 'catalog-converges',
    appliesTo: ['converge', 'noop'],
    problem: (o) => (o.failure ? `migration failed: ${o.failure.message}` : o.catalogDiff.length ? `catalog differs from fresh:\n${o.catalogDiff.join('\n')}` : undefined),
  },
  {
    name: 'rows-preserved',
    appliesTo: ['converge', 'noop', 'fail-atomically', 'drift', 'refuse'],
    problem: (o, _expect, rows) => {
      const changes = rows === 'kept' ? o.dataChanges.filter((line) => !line.includes('row contents changed')) : o.dataChanges;
      return changes.length ? `pre-existing rows ${rows === 'kept' ? 'lost or added' : 'changed'}:\n${changes.join('\n')}` : undefined;
    },
  },
  {
    name: 'idempotent',
    appliesTo: ['converge', 'noop'],
    problem: (o) => (o.reapplyProblems.length ? o.reapplyProblems.join('\n') : undefined),
  },
  {
    name: 'atomic-on-failure',
    appliesTo: ['fail-atomically'],
    problem: atomicProblem,
  },
];

function atomicProblem(o: MigrationObservation): string | undefined {
  if (!o.failure) return `migration did not fail (${o.outcome})`;
  if (o.leftovers.length) return `failed migration left changes behind:\n${o.leftovers.join('\n')}`;
  // a NOT NULL that cannot be set names its column (23502); every other violation names its constraint
  const named = o.failure.constraint ?? (o.failure.sqlstate === '23502' ? o.failure.column : undefined);
  if (!named || !o.failure.message.includes(named)) return `error does not name the violated constraint: ${o.failure.message}`;
  if (o.failure.violatingRows === undefined) return `violating rows could not be counted: ${o.failure.message}`;
  if (o.generatedViolating !== undefined && o.failure.violatingRows !== o.generatedViolating) {
    return `${o.failure.violatingRows} violating row(s) counted, but the history has ${o.generatedViolating}: ${o.failure.message}`;
  }
  if (o.failure.violatingRows === 0) return `the error names a violation, but no row violates ${named}: ${o.failure.message}`;
  return undefined;
}

/** The problems of one observation, by check name. */
export function migrationProblems(observation: MigrationObservation, expect: Expectation, rows: RowsRule = 'unchanged'): Map<string, string> {
  const problems = new Map<string, string>();
  for (const check of MIGRATION_CHECKS) {
    if (!check.appliesTo.includes(expect)) continue;
    const problem = check.problem(observation, expect, rows);
    if (problem !== undefined) problems.set(check.name, problem);
  }
  return problems;
}

/**
 * The checks of a state's migration. `idempotency: 'interrupted-deploys-only'` leaves out the
 * second application of a recorded revision (which a runner that records each revision in its
 * own transaction never makes); re-runs that can happen are the interrupted-deploy states'.
 */
export function checksFor(expect: Expectation, idempotency: 'required' | 'interrupted-deploys-only' = 'required'): string[] {
  return MIGRATION_CHECKS.filter((check) => check.appliesTo.includes(expect) && (idempotency === 'required' || check.name !== 'idempotent')).map((check) => check.name);
}
