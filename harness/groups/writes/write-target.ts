import { targetDifferences } from '../migration/migration-experiment.ts';
import type { ConstraintFact } from '../../check/model.ts';
import type pg from 'pg';
import { readConstraintFacts, snapshotCatalog } from '../../catalog/index.ts';
import type { MigrationOutcome } from '../../check/migration-checks.ts';
import { connectClient, withClient } from '../../postgres/index.ts';
import { inOneTransaction, InterleavingExecutor, outcomeOfError, runPipelined, type Program, type ServerError, type StepEvent } from '../../sessions/index.ts';
import type { GroupContext } from '../../run/group-context.ts';
import type { StartingState, StateDatabase, StateHistory } from '../../states/index.ts';
import { firstAccepted, putBackFrom, readBack, readBaseRows, type BaseRows, type PutBack, type ReadBack } from './table-rows.ts';

/** What is written into a database once it is cloned (the reference's copy of a state's rows). */
export type Fill = (client: pg.ClientBase) => Promise<void>;

/** What the migration did to the database the write groups use. */
export interface TargetMigration {
  outcome: MigrationOutcome;
  error?: string;
  server?: ServerError;
  catalogDiff: string[];
}

/**
 * The database a state's write runs share: the state with the history the run's seed picks,
 * migrated to the target (or, for a live deploy, not yet), and the rows it started with.
 * Runs use fresh keys; the starting rows they write to are put back after each run, so every
 * run (and every replay) starts from the same rows. If they cannot be put back (a constraint
 * added NOT VALID refuses an old row), the database is built again before the next run.
 */
export class WriteTarget {
  private dirty = false;
  /** What puts the rows back after the last writes run (sent ahead of the next run, on the same round trip). */
  private pendingReset: PutBack | undefined;
  /** What the last `finish` read back (a live deploy's copy is put back from it). */
  private lastReadBack: ReadBack | undefined;
  private single: Promise<pg.Client> | undefined;
  private sessions: Promise<InterleavingExecutor> | undefined;

  private constructor(
    private readonly context: GroupContext<unknown>,
    readonly state: StartingState,
    readonly history: StateHistory,
    private database: StateDatabase,
    private starting: BaseRows,
    readonly migration: TargetMigration | undefined,
    private readonly fill: Fill | undefined,
    /** The constraints the database had before the migration (what a model reads of a snapshot). */
    readonly constraintsBefore: readonly ConstraintFact[],
  ) {}

  static async open<Op>(context: GroupContext<Op>, state: StartingState, history: StateHistory, options: { migrate: boolean; label: string; fill?: Fill }): Promise<WriteTarget> {
    const database = await context.bench.templates.clone(state, history, options.label);
    try {
      const { migration, base, constraintsBefore } = await withClient(context.bench.templates.connectionConfig(database.name), async (client) => {
        const constraintsBefore = await readConstraintFacts(client);
        const migration = options.migrate ? await migrate(context, client, state) : undefined;
        await options.fill?.(client);
        return { migration, base: await readBaseRows(client, context.suite.tables), constraintsBefore };
      });
      return new WriteTarget(context as GroupContext<unknown>, state, history, database, base, migration, options.fill, constraintsBefore);
    } catch (error) {
      await database.drop();
      throw error;
    }
  }

  get name(): string {
    return this.database.name;
  }

  /** The rows the state started with (read again when the database is built again: defaults such as now() differ). */
  get base(): BaseRows {
    return this.starting;
  }

  config(): pg.ClientConfig {
    return this.context.bench.templates.connectionConfig(this.database.name);
  }

  /** One connection for a single writer (kept for every run), in pipeline mode: a run's statements and its read-back go out in one round trip (see runPipelined). */
  client(): Promise<pg.Client> {
    this.single ??= connectClient({ ...this.config(), pipeline: true });
    return this.single;
  }

  /** An executor with `writers` sessions (kept for every run); its control connection serves the runs' own statements. */
  executor(writers: number): Promise<InterleavingExecutor> {
    this.sessions ??= InterleavingExecutor.connect(this.config(), writers);
    return this.sessions;
  }

  /** Before a run: the rows the last writes run left are put back; a database whose starting rows could not be put back is built again. */
  async ready(): Promise<void> {
    if (this.pendingReset && !this.dirty) {
      const reset = this.pendingReset;
      this.pendingReset = undefined;
      if (!(await this.putBack(await this.client(), reset))) this.dirty = true;
    }
    if (!this.dirty) return;
    this.pendingReset = undefined;
    await this.disconnect();
    await this.database.drop();
    this.database = await this.context.bench.templates.clone(this.state, this.history, `${this.state.name}_again`);
    this.starting = await withClient(this.config(), async (client) => {
      if (this.migration) await this.context.bench.migrator.migrateTo(client, this.context.bench.to);
      await this.fill?.(client);
      return readBaseRows(client, this.context.suite.tables);
    });
    this.dirty = false;
  }

  /** Builds the database again if its rows could not be put back after the last run (`ready` without the pending put-back, which the next run sends itself). */
  async rebuildIfDirty(): Promise<void> {
    if (this.dirty) await this.ready();
  }

  /**
   * A run of the writes group, in one round trip on the pipelined connection: the statements
   * that put back what the previous run changed, the program's steps, and the read-back of
   * every row of the suite's tables. The rows are put back before the next run (or `ready`),
   * only those the read-back shows changed: a targeted DELETE/UPDATE/INSERT, not a rewrite of
   * every starting row. If they cannot be put back (a constraint added NOT VALID refuses an old
   * row), the steps that were sent behind the reset ran on the wrong rows: the database is
   * built again and the program runs again on it.
   */
  async runWrites<Meta>(program: Program<Meta>): Promise<{ events: StepEvent<Meta>[]; actual: ReadBack }> {
    if (this.dirty) await this.ready();
    const client = await this.client();
    const pending = this.pendingReset;
    this.pendingReset = undefined;
    // ahead of the steps: the one-statement put-back, several statements (triggers off, sequences) as one transaction
    const ahead = pending?.[0]();
    const run = await runPipelined(client, program, () => this.readBack(client), ahead ? { before: ahead.length > 1 ? ['BEGIN', ...ahead, 'COMMIT'] : ahead } : {});
    if (pending && run.before?.some((outcome) => outcome.kind === 'error')) {
      // the steps ran on rows not put back: put back what is there now the other ways, and run again
      const rest = putBackFrom(this.base, run.after)?.slice(1) as PutBack | undefined;
      if (rest?.length && !(await this.putBack(client, rest))) this.dirty = true;
      return this.runWrites(program);
    }
    this.pendingReset = putBackFrom(this.base, run.after);
    return { events: run.events, actual: run.after };
  }

  /** Every row of the suite's tables as they are now on `client`'s database. */
  readBack(client: pg.ClientBase): Promise<ReadBack> {
    return readBack(client, this.context.suite.tables);
  }

  /** Puts the rows back, each way in its own transaction until the server accepts one (see putBackFrom); false when it refused them all (the database is then built again). */
  private async putBack(client: pg.ClientBase, putBack: PutBack): Promise<boolean> {
    return firstAccepted(putBack, (queries) => inOneTransaction(client, queries)).then(
      () => true,
      (error) => (outcomeOfError(error), false), // a dropped connection is not a refusal
    );
  }

  /**
   * The ways to put the rows back after the last `finish` (for a live deploy's copy, each inside
   * the transaction that reverts the migration; see putBackFrom): one with no statements when the
   * run left the rows as they were; undefined when nothing was read back.
   */
  putBackAfterLastRun(): PutBack | undefined {
    return this.lastReadBack && this.putBackAfter(this.lastReadBack);
  }

  /** The ways to put the starting rows back after a run that left `after` (see putBackFrom); one with no statements when it left them as they were. */
  putBackAfter(after: ReadBack): PutBack {
    return putBackFrom(this.base, after) ?? [() => []];
  }

  /** After a run: every row of the suite's tables as it is now; with `reset`, the starting rows are then put back, and no other row kept (or, if they cannot be, the database is built again before the next run). */
  async finish(client: pg.ClientBase, reset = true): Promise<ReadBack> {
    const actual = await this.readBack(client);
    this.lastReadBack = actual;
    const putBack = reset ? putBackFrom(this.base, actual) : undefined;
    if (putBack && !(await this.putBack(client, putBack))) this.dirty = true;
    return actual;
  }

  /** Closes the connections and drops the database. */
  async close(): Promise<void> {
    await this.disconnect();
    await this.database.drop();
  }

  private async disconnect(): Promise<void> {
    const [single, sessions] = [this.single, this.sessions];
    this.single = this.sessions = undefined;
    await Promise.allSettled([single?.then((c) => c.end()), sessions?.then((executor) => executor.close())]);
  }
}

/** Migrates the target database and says what happened, judged against the reference catalog. */
async function migrate(context: GroupContext<unknown>, client: pg.ClientBase, state: StartingState): Promise<TargetMigration> {
  const run = await context.bench.migrator.migrateTo(client, context.bench.to);
  if (run.error) return { outcome: 'failed', error: run.error.message, server: run.error.outcome, catalogDiff: [] };
  const reference = 'catalog' in context.bench.reference ? context.bench.reference.catalog : undefined;
  const preexisting = state.steps.some((step) => step.kind === 'load') ? context.bench.snapshot?.facts.preDeploy?.outsideChain : undefined;
  const catalogDiff = reference ? targetDifferences(reference, await snapshotCatalog(client), preexisting).catalogDiff : [];
  const applied = run.applied.length > 0;
  const outcome: MigrationOutcome = catalogDiff.length > 0 ? (applied ? 'failed' : 'drift') : applied ? 'converged' : 'noop';
  return { outcome, catalogDiff, ...(outcome === 'failed' ? { error: `the migration applied but the catalog differs from fresh:\n${catalogDiff.join('\n')}` } : {}) };
}
