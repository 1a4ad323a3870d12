import type { RunnerName } from '../migrate/index.ts';
import type { StartingState } from '../states/starting-state.ts';

/**
 * A hand-applied object a database has outside the chain, e.g. PROD's hotfix. It becomes a
 * starting state: the revision before the target, rows the target accepts, then this SQL; the
 * migration must converge from it, and its writes must behave as on the reference.
 */
export interface Drift {
  /** The state's name (default `drift-1`, `drift-2`, …). */
  name?: string;
  /** What a person reads, e.g. "PROD has the old predicate hand-applied". */
  story?: string;
  /** The SQL that was run by hand, e.g. `ALTER TABLE t ADD CONSTRAINT c CHECK (…)`. */
  sql: string;
}

/**
 * What a team declares beside its migrations (`constraint-harness.config.ts`), only what the
 * harness cannot derive from the chain. Everything else (the constraints the target adds, the
 * columns' values, the starting states, the writes) is derived, and the writes are judged by
 * the state differential: each state must accept and refuse what a database built by the chain
 * from nothing accepts and refuses, holding the same rows.
 *
 * @example
 * export default defineConfig({
 *   migrations: './migrations',
 *   drift: [{ name: 'prod', story: 'PROD has the old CHECK', sql: "ALTER TABLE t ADD CONSTRAINT c CHECK (x > 0)" }],
 * });
 */
export interface Declaration {
  /** Marks the value as a declaration (set by `defineConfig`). */
  readonly kind: 'constraint-harness/declaration';
  /** The migrations folder, relative to the declaration file. */
  migrations: string;
  /** The suite's name in reports (default: the folder's name). */
  name?: string;
  /** The revision verified by default (default: the chain's last). */
  target?: string;
  /** How the chain is deployed (default: the format's own runner). */
  runner?: RunnerName;
  /** Known drift: each one a starting state. */
  drift?: readonly Drift[];
  /** Values for columns the harness cannot guess, as SQL expressions: `{ 'orders.sku': ["'A-1'", "'B-2'"] }`. They replace the derived ones. */
  values?: Readonly<Record<string, readonly string[]>>;
  /**
   * The domain rule per table: rows the domain forbids, whatever the schema says. A SQL
   * expression over the row (`"decision_rule <> 'cheapest_clearing_floor' OR inference_id IS NOT NULL"`),
   * true for an allowed row, or a TypeScript predicate over the row's columns as text. Any row a
   * run commits that breaks it is a failure, even when the reference accepts it too (the target
   * itself is too weak); the state differential still judges every write.
   */
  rules?: Readonly<Record<string, string | DomainPredicate>>;
  /** Starting states of your own, added to the derived ones. */
  states?: readonly StartingState[];
  /** Derived states to leave out, by name (e.g. a `hand-applied-…` state your operations rule out). */
  skipStates?: readonly string[];
  /** Which groups run by default (`--group` overrides). */
  groups?: readonly ('migration' | 'writes' | 'concurrency')[];
}

/** A row as a rule sees it: each column as PostgreSQL prints it (`::text`), NULL as null. */
export type DomainPredicate = (row: Readonly<Record<string, string | null>>) => boolean;

/** Declares what the harness cannot derive (a declaration file reads `export default defineConfig({ … })`). */
export function defineConfig(declaration: Omit<Declaration, 'kind'>): Declaration {
  return { ...declaration, kind: 'constraint-harness/declaration' };
}

export function isDeclaration(value: unknown): value is Declaration {
  return !!value && typeof value === 'object' && (value as { kind?: unknown }).kind === 'constraint-harness/declaration';
}
