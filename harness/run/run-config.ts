import type { ChainFormat, RunnerName } from '../migrate/index.ts';
import type { ProviderChoice } from '../postgres/index.ts';
import type { SnapshotConfig } from '../snapshot/snapshot.ts';
import { GROUPS, type PropertyGroup } from './property-result.ts';

/** A deterministic part of a run: `index` of `count` (1-based), for CI job matrices. */
export interface Shard {
  index: number;
  count: number;
}

/**
 * Everything that decides what a run does, set once by the command line (or a test) and
 * passed down unchanged. Replay and repro commands are built from it by `commandFor`, so a
 * new option is added in two places: its flag and this type.
 */
export interface RunConfig {
  /** `--suite`, when given. */
  readonly suite?: string;
  /** The migration directory, resolved. */
  readonly migrationsDir: string;
  /** What commands a user copies pass as `--migrations` (what the user wrote); none for the suite's own chain. */
  readonly migrationsFlag?: string;
  readonly to?: string;
  readonly runner?: RunnerName;
  /** `--format`: the chain's layout, when it should not be recognised. */
  readonly format?: ChainFormat;
  /** `--alembic-ini`: an Alembic project, exported to offline SQL by Alembic itself. */
  readonly alembicIni?: string;
  readonly provider: ProviderChoice;
  readonly states?: readonly string[];
  readonly groups: readonly PropertyGroup[];
  /** Run only the property of this name (a replay names the one that failed). */
  readonly property?: string;
  readonly runs: number;
  readonly seed: number;
  /** A fast-check path: replay one failing run. */
  readonly path?: string;
  /** How many (state, property) items run at once. */
  readonly workers: number;
  /** Start no new item once a property failed (mutation testing needs one failure, not all). */
  readonly stopAtFirstFailure?: boolean;
  readonly shard?: Shard;
  /** Writers the live deploy may deadlock or see cancelled before its property fails (none given: counted, never a failure). */
  readonly maxWriterDeadlocks?: number;
  /** Rehearse the deploy at scale (`rehearse`, or `verify --rows`). */
  readonly rehearsal?: RehearsalConfig;
  /** A starting state copied from a real database or a dump (`--from-db`, `--from-dump`). */
  readonly snapshot?: SnapshotConfig;
  /** `--budget`: as many runs per property as fit in this time, spread over the items; never a pass on fewer than `minRuns`. */
  readonly budget?: Budget;
  /**
   * Set by `verify` for one item under a budget (performance.now() times): past `share` its
   * properties start no new run once they have --min-runs; past `end` (the whole budget's) none.
   */
  readonly deadline?: { share: number; end: number };
}

/** `--budget 2m --min-runs 100`. */
export interface Budget {
  ms: number;
  minRuns: number;
}

/** How the deploy is rehearsed: the state at `rows` (and N/4, N/2), writers under load, a long reader, a lock timeout, a budget. */
export interface RehearsalConfig {
  /** The state to rehearse (default: the suite's first live-deploy state). */
  readonly state?: string;
  readonly rows: number;
  /** PROD's row count, for the projection (default: `rows`). */
  readonly prodRows?: number;
  readonly writers: number;
  /** Flows per second, per writer. */
  readonly rate: number;
  readonly beforeMs: number;
  readonly afterMs: number;
  readonly longReaderMs?: number;
  readonly lockTimeoutMs?: number;
  readonly retries: number;
  readonly maxWriteStallMs?: number;
}

export function runConfig(fields: Partial<RunConfig> & Pick<RunConfig, 'migrationsDir' | 'seed'>): RunConfig {
  return Object.freeze({ provider: {}, groups: GROUPS, runs: 100, workers: 1, ...fields });
}

/** The failure a command is about. */
export interface FailureRef {
  state: string;
  group: PropertyGroup;
  property: string;
  seed: number;
  path?: string;
}

/**
 * The command that replays one failure (`verify`) or turns it into a script (`repro`): the
 * same chain, revision, runner and server as the run, that state, that property, that case.
 * A password never appears: with `--url`, the user passes the URL again.
 */
export function commandFor(kind: 'verify' | 'repro', config: RunConfig, failure: FailureRef): string {
  const parts = ['npx constraint-harness', kind];
  parts.push(kind === 'verify' ? `--states ${failure.state} --group ${failure.group}` : `--state ${failure.state}`);
  parts.push(`--property ${failure.property}`, `--seed ${failure.seed}`);
  if (failure.path) parts.push(`--path ${failure.path}`);
  if (config.to) parts.push(`--to ${config.to}`);
  if (config.migrationsFlag) parts.push(`--migrations ${config.migrationsFlag}`);
  if (config.runner) parts.push(`--runner ${config.runner}`);
  if (config.format) parts.push(`--format ${config.format}`);
  if (config.alembicIni) parts.push(`--alembic-ini ${config.alembicIni}`);
  if (config.suite) parts.push(`--suite ${config.suite}`);
  const snapshot = config.snapshot;
  if (snapshot?.fromDb) parts.push('--from-db <the same source>');
  if (snapshot?.fromDump) parts.push(`--from-dump ${snapshot.fromDump}`);
  if (snapshot?.sample !== undefined) parts.push(`--sample ${snapshot.sample}`);
  if (snapshot?.workingSet !== undefined) parts.push(`--working-set ${snapshot.workingSet}`);
  if (snapshot?.expect) parts.push(`--expect-snapshot ${snapshot.expect}`);
  if (snapshot?.pgDump) parts.push(`--pg-dump ${snapshot.pgDump}`);
  if (kind === 'verify' && config.maxWriterDeadlocks !== undefined && failure.property === 'live-deploy-keeps-valid-writes') parts.push(`--max-writer-deadlocks ${config.maxWriterDeadlocks}`);
  const provider = config.provider;
  if (provider.provider && provider.provider !== 'url') parts.push(`--provider ${provider.provider}`);
  if (provider.pgVersion) parts.push(`--pg-version ${provider.pgVersion}`);
  if (provider.image) parts.push(`--image ${provider.image}`);
  if (provider.provider === 'url' || provider.url) parts.push('--url <the same server>');
  return parts.join(' ');
}

/** 90000 → `90s`, 120000 → `2m`. */
export function formatDuration(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : `${Math.round(ms / 100) / 10}s`;
}
