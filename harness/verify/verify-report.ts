import type { MigrationOutcome } from '../check/migration-checks.ts';
import type { RehearsalReport } from '../rehearsal/rehearsal-result.ts';
import type { PropertyResult } from '../run/property-result.ts';
import type { Shard } from '../run/run-config.ts';
import type { Expectation } from '../states/index.ts';

/** The document `verify --json` prints (SPEC §7). */
export interface VerifyReport {
  ok: boolean;
  postgres: { version: string; provider: string };
  migrations: { dir: string; to: string; format?: string; runner?: string };
  seed: number;
  runs?: number;
  finishedAt?: string;
  /** The constraints the target revision names, as PostgreSQL prints them once it is applied. */
  targetConstraints?: { table: string; name: string; definition: string }[];
  /** Set when the run was interrupted (SIGINT/SIGTERM): the report holds what finished. */
  interrupted?: string;
  /** Set when this is one shard of a run (`--shard i/n`): the run's item count and states in order; `merge-reports` joins them. */
  shard?: Shard & { items: number; states: string[] };
  states: StateReport[];
  /** The deploy rehearsal at scale (`verify --rows N`). */
  rehearsal?: RehearsalReport;
}

export interface StateReport {
  name: string;
  story: string;
  expect: Expectation;
  migration: MigrationOutcome | 'not-run';
  /** The migration error, when the migration failed (expectedly or not). */
  error?: string;
  /** Catalog differences from fresh (drift, or a migration that did not converge). */
  catalogDiff?: string[];
  /** Groups not run in this state, and why (e.g. writes after a failed migration). */
  skipped?: string[];
  properties: PropertyResult[];
}

/** A report's verdict: every property holds, and at least one property ran. */
export function verdictOf(states: readonly StateReport[]): boolean {
  const properties = states.flatMap((state) => state.properties);
  return properties.length > 0 && properties.every((property) => property.ok);
}
