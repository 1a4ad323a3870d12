import type pg from 'pg';
import { SetupError } from '../errors.ts';
import type { Migrator } from '../migrate/index.ts';
import { snapshotCatalog } from '../catalog/index.ts';
import type { StartingState, WorkingSetBuilder } from '../states/index.ts';
import { copyFromDatabase, type CopySummary } from './copy-from-database.ts';
import { inspectDump, loadDump, type DumpLoad } from './dump-file.ts';
import type { PreDeployReport } from './pre-deploy.ts';
import { describeSource, SourceDatabase } from './source-database.ts';
import { keepWorkingSet, type WorkingSet } from './working-set.ts';

/** The starting state copied from a real database or a dump. */
export const SNAPSHOT_STATE = 'snapshot';

/** `--from-db`, `--from-dump`, `--sample`, `--expect-snapshot`, `--pg-dump`. */
export interface SnapshotConfig {
  readonly fromDb?: string;
  readonly fromDump?: string;
  /** At most this many rows per table (parents of taken rows added). */
  readonly sample?: number;
  /** What the migration must do from the snapshot (default `converge`: a deploy that would fail on this data is not signed off). */
  readonly expect?: 'converge' | 'fail-atomically';
  /** A pg_dump binary; its pg_restore is used beside it. */
  readonly pgDump?: string;
  /** At most this many rows per table for the write groups (default 10,000; 0: every row). */
  readonly workingSet?: number;
}

/** The write groups' working set when none is given: what a run reads back in well under a second. */
export const DEFAULT_WORKING_SET = 10_000;

/** What the copy found and did, for the report. */
export interface SnapshotFacts {
  source: string;
  kind: 'database' | 'dump';
  /** The source's PostgreSQL version, when it says. */
  sourceVersion?: string;
  copy?: CopySummary;
  dump?: DumpLoad;
  /** After the copy: whether the source's catalog digest is as it was, and how many sessions of the harness are still on it (must be 0). */
  sourceAfter?: { unchanged: boolean; sessionsLeft: number };
  ms?: number;
  /** Read before anything is migrated. */
  preDeploy?: PreDeployReport;
  /** Rows per table of the snapshot, as loaded. */
  tableRows?: Record<string, number>;
  /** The part of the rows the write groups ran on, when the snapshot was too large for every run to read back. */
  workingSet?: WorkingSet;
}

/**
 * The snapshot as a starting state: built once into a template (the copy is read from the
 * source once, in one read-only transaction, then closed), cloned for every run like any other
 * state's template. What the migration must do from it is `--expect-snapshot` (converge by default).
 */
export class Snapshot {
  readonly facts: SnapshotFacts;

  constructor(
    readonly config: SnapshotConfig,
    private readonly migrator: Migrator,
    /** The run's seed: it picks the working set. */
    private readonly seed: number,
  ) {
    if (config.workingSet !== undefined && (!Number.isInteger(config.workingSet) || config.workingSet < 0)) throw new SetupError(`--working-set ${config.workingSet}: give a number of rows per table (0: every row)`);
    if (config.fromDb && config.fromDump) throw new SetupError('--from-db and --from-dump name two snapshots: give one');
    if (config.fromDump && config.sample !== undefined) throw new SetupError('--sample applies to --from-db (a dump is restored whole; sample the database it came from instead)');
    this.facts = config.fromDb ? { source: describeSource(config.fromDb), kind: 'database' } : { source: config.fromDump!, kind: 'dump' };
  }

  state(): StartingState {
    const what = this.facts.kind === 'database' ? `a read-only copy of ${this.facts.source}${this.config.sample !== undefined ? ` (at most ${this.config.sample} rows per table, with their parents)` : ''}` : `the dump ${this.facts.source}`;
    return {
      name: SNAPSHOT_STATE,
      story: `${what}: the team's own data, as the migration will meet it`,
      expect: this.config.expect ?? 'converge',
      deploy: true,
      steps: [{ kind: 'load', label: `load ${what}`, load: (client) => this.load(client) }],
      workingSet: () => this.workingSet(),
    };
  }

  /** What makes the write groups' working set, when a table holds more rows than it keeps (asked once the copy is loaded). */
  private workingSet(): WorkingSetBuilder | undefined {
    const perTable = this.config.workingSet ?? DEFAULT_WORKING_SET;
    if (perTable === 0 || !Object.values(this.facts.tableRows ?? {}).some((rows) => rows > perTable)) return undefined;
    const whole = this.migrator.chain.versionTable.tables;
    return async (source, target) => {
      this.facts.workingSet = await keepWorkingSet(source, target, perTable, this.seed, whole);
    };
  }

  /** Copies the source into the template's database (on its session: `client`). */
  async load(client: pg.ClientBase): Promise<void> {
    const started = performance.now();
    const serverMajor = Math.floor(Number((await client.query<{ n: string }>(`SELECT current_setting('server_version_num') AS n`)).rows[0]!.n) / 10000);
    if (this.config.fromDb) {
      const source = await SourceDatabase.open(this.config.fromDb);
      try {
        this.facts.sourceVersion = source.version;
        checkMajor(source.major, serverMajor, this.facts.source);
        this.facts.copy = await copyFromDatabase(source, client, this.migrator, this.config.sample);
      } finally {
        this.facts.sourceAfter = await source.close();
      }
    } else {
      const dump = await inspectDump(this.config.fromDump!, this.config.pgDump);
      if (dump.sourceMajor !== undefined) {
        this.facts.sourceVersion = String(dump.sourceMajor);
        checkMajor(dump.sourceMajor, serverMajor, this.facts.source);
      }
      this.facts.dump = await loadDump(client, dump, this.config.pgDump);
      // a dump sets its own search_path and settings on the session: the rest of the build sees the server's
      await client.query('RESET ALL');
      await client.query('ANALYZE');
    }
    this.facts.tableRows = await countRows(client);
    this.facts.ms = Math.round(performance.now() - started);
  }
}

/** Each user table's rows (exactly: the working set depends on it). */
async function countRows(client: pg.ClientBase): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of (await snapshotCatalog(client)).tables) counts[table] = Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);
  return counts;
}

/** A source newer than the harness's server cannot be copied faithfully (its catalog prints what the older server may not parse). */
function checkMajor(sourceMajor: number, serverMajor: number, source: string): void {
  if (sourceMajor > serverMajor) {
    throw new SetupError(`${source} is PostgreSQL ${sourceMajor}, the harness's server ${serverMajor}: run the harness on ${sourceMajor} (--pg-version ${sourceMajor}, or --provider url on a server of that major)`);
  }
}
