import type { MigrationOutcome } from '../check/migration-checks.ts';
import type { RehearsalReport } from '../rehearsal/rehearsal-result.ts';
import type { PropertyResult } from '../run/property-result.ts';
import type { Shard } from '../run/run-config.ts';
import type { Expectation } from '../states/index.ts';
import type { SnapshotFacts } from '../snapshot/snapshot.ts';

/** The document `verify --json` prints (SPEC §7). */
export interface VerifyReport {
  ok: boolean;
  postgres: { version: string; provider: string };
  migrations: { dir: string; to: string; format?: string; runner?: string; target?: TargetSource };
  seed: number;
  runs?: number;
  /** `--budget`: the time the run was given and the runs a property needs to pass; each property's `runs` says what it got. */
  budget?: { ms: number; minRuns: number };
  finishedAt?: string;
  /** The constraints the target revision names, as PostgreSQL prints them once it is applied. */
  targetConstraints?: { table: string; name: string; definition: string }[];
  /** Set when the run was interrupted (SIGINT/SIGTERM): the report holds what finished. */
  interrupted?: string;
  /** Set when this is one shard of a run (`--shard i/n`): the run's item count and states in order; `merge-reports` joins them. */
  shard?: Shard & { items: number; states: string[] };
  /** The state copied from the team's own database or dump: where from, what was copied, the pre-deploy report. */
  snapshot?: SnapshotFacts;
  states: StateReport[];
  /** The deploy rehearsal at scale (`verify --rows N`). */
  rehearsal?: RehearsalReport;
}

/** Where the revision under test is written: its file (relative to the root of the repository the run is in, else to the working directory) and where each of its statements starts, so that a failure can point at one. */
export interface TargetSource {
  file: string;
  line: number;
  statements: { line: number; text: string }[];
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
  /**
   * For a state copied from the team's own data (a snapshot), what its migration did, as a
   * finding: "converges, every row kept", or "fails atomically: N rows of T violate C" with
   * the first keys and the SELECT that lists them all on the source.
   */
  finding?: string[];
  /** The state could not be built by the suite's own setup, before the revision under test: a setup problem (exit 2), not a finding. */
  setupError?: string;
  properties: PropertyResult[];
}

/** A report's verdict: every property holds, at least one property ran, and every state could be built. */
export function verdictOf(states: readonly StateReport[]): boolean {
  const properties = states.flatMap((state) => state.properties);
  return properties.length > 0 && properties.every((property) => property.ok) && states.every((state) => !state.setupError);
}

/**
 * The exit code of a report: 0 it holds; 1 a property failed (the migration did something it
 * must not, the revision under test included); 2 nothing failed, but the suite's own setup kept
 * a state from being built (or nothing was proven).
 */
export function exitCodeOf(report: Pick<VerifyReport, 'ok' | 'states' | 'rehearsal'>): 0 | 1 | 2 {
  if (report.ok) return 0;
  const failed = report.states.some((state) => state.properties.some((p) => !p.ok)) || (report.rehearsal?.properties.some((p) => !p.ok) ?? false);
  return failed || !report.states.some((state) => state.setupError) ? 1 : 2;
}
