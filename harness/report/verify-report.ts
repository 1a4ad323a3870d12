import type { PropertyResult } from '../check/property-result.ts';
import type { MigrationOutcome } from '../check/migration-experiment.ts';
import type { Expectation } from '../states/index.ts';

/** The document `verify --json` prints (SPEC §7). */
export interface VerifyReport {
  ok: boolean;
  postgres: { version: string; provider: string };
  migrations: { dir: string; to: string };
  seed: number;
  runs?: number;
  finishedAt?: string;
  /** The constraints the target revision names, as PostgreSQL prints them once it is applied. */
  targetConstraints?: { table: string; name: string; definition: string }[];
  /** Set when the run was interrupted (SIGINT/SIGTERM): the report holds what finished. */
  interrupted?: string;
  states: StateReport[];
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
