import type pg from 'pg';
import { checksFor, EXPECTED, migrationProblems, STATE_BUILDS, type MigrationObservation } from '../../check/migration-checks.ts';
import { connectClient } from '../../postgres/index.ts';
import type { GroupContext } from '../../run/group-context.ts';
import { runProperty, type Execution, type PropertySpec } from '../../run/property-runner.ts';
import type { Counterexample, PropertyResult } from '../../run/property-result.ts';
import type { Workbench } from '../../run/workbench.ts';
import { serverErrorOf } from '../../sessions/index.ts';
import { describeStep, hasHistory, perCloneSteps, StateBuildError, type StartingState, type StateDatabase, type StateHistory } from '../../states/index.ts';
import { observeMigration, type Experiment } from './migration-experiment.ts';
import { timed } from '../../run/phase-timer.ts';

interface MigrationRun extends Execution {
  observation?: MigrationObservation;
  /** The state could not be built with this history: nothing was migrated. */
  buildError?: StateBuildError;
}

export interface MigrationGroupResult {
  results: PropertyResult[];
  /** What the migration did on the minimal failing case, or on the first run. */
  observation?: MigrationObservation;
  /** The minimal failing history, if a check failed. */
  failingHistory?: StateHistory;
  /** Why the state could not be built with the minimal history that shows it (its result is STATE_BUILDS). */
  buildError?: StateBuildError;
}

/**
 * The migration group for one state: over generated histories, migrate a copy of the state
 * as the runner deploys it and check every fact its expectation implies (outcome, convergence,
 * preserved rows, idempotency, atomicity). One experiment per run feeds all checks. When every
 * plan can run nested, the runs share one copy inside a transaction that is rolled back
 * (each revision under a savepoint); otherwise each run gets a copy of its own.
 */
export async function runMigrationGroup<Op>(context: GroupContext<Op>, state: StartingState): Promise<MigrationGroupResult> {
  const { bench } = context;
  if (!('catalog' in bench.reference)) throw new Error('the migration group needs the reference catalog');
  const preexisting = state.steps.some((step) => step.kind === 'load') ? bench.snapshot?.facts.preDeploy?.outsideChain : undefined;
  const experiment: Experiment = { migrator: bench.migrator, to: bench.to, reference: bench.reference.catalog, mode: bench.migrator.canNestTo(bench.to) ? 'nested' : 'deploy', ...(preexisting ? { preexisting } : {}) };
  const workspace = new Workspace(bench, state);
  let first: MigrationObservation | undefined;
  // a replay names one property: exactly that one is checked and reported
  const checks = checksFor(state.expect, context.suite.idempotency).filter((name) => context.config.property === undefined || name === context.config.property);
  const spec: PropertySpec<StateHistory, MigrationRun> = {
    group: 'migration',
    properties: perCloneSteps(state).length > 0 ? [...checks, STATE_BUILDS] : checks,
    label: checks.length === 1 ? checks[0]! : `migration checks (${checks.length})`,
    cases: bench.templates.historyArbitrary(state),
    runs: hasHistory(state) ? undefined : 1,
    async execute(history) {
      let observation: MigrationObservation;
      try {
        observation = await workspace.observe(history, experiment);
      } catch (error) {
        if (!(error instanceof StateBuildError)) throw error;
        // a history the state cannot be built with is a finding of its own, shrunk like any other
        return { problems: [{ property: STATE_BUILDS, expected: `state ${state.name} can be built with every history`, actual: error.message, error: serverErrorOf(error) }], buildError: error };
      }
      first ??= observation;
      const problems = [...migrationProblems(observation, state.expect, context.suite.rows)].filter(([property]) => checks.includes(property)).map(([property, problem]) => {
        const [headline, ...details] = problem.split('\n');
        const error = property === 'idempotent' ? observation.reapplyError : property === 'rows-preserved' ? undefined : observation.failure?.server;
        return { property, expected: `${property}: ${EXPECTED[state.expect]}`, actual: headline!, details, ...(error ? { error } : {}) };
      });
      return { problems, observation };
    },
    describe: (history, _run, problem) => describeMigration(state, history, bench.to, problem),
  };
  try {
    const { results, failing, failingCase } = await runProperty(spec, state.name, context.config, context.progress);
    // state-builds is reported only when it fails (it is a precondition of the checks, not one of them)
    const reported = results.filter((result) => result.name !== STATE_BUILDS || !result.ok || context.config.property === STATE_BUILDS);
    return { results: reported, observation: failing?.observation ?? first, failingHistory: failingCase, ...(failing?.buildError ? { buildError: failing.buildError } : {}) };
  } finally {
    await workspace.close();
  }
}

function describeMigration(state: StartingState, history: StateHistory, to: string, problem: { expected: string; actual: string; details?: string[] }): Counterexample {
  let rowsIndex = 0;
  const steps = state.steps.flatMap((step) => (step.kind === 'rows' ? [`${step.label}:`, ...(history[rowsIndex++]?.summary ?? []).map((line) => `  ${line}`)] : [describeStep(step)]));
  return { steps: [...steps, `migrate to ${to}`], expected: problem.expected, actual: problem.actual, details: problem.details, sql: history.flatMap((rows) => rows.sql) };
}

/** Where a state's migration runs: one shared copy used inside rolled-back transactions, or a copy per run. */
class Workspace {
  private shared: Promise<{ database: StateDatabase; client: pg.Client }> | undefined;
  /** The shared copy's connection holds the last run's transaction, rolled back when the next run begins (or the copy is dropped). */
  private inTransaction = false;

  constructor(
    private readonly bench: Workbench,
    private readonly state: StartingState,
  ) {}

  async observe(history: StateHistory, experiment: Experiment): Promise<MigrationObservation> {
    const templates = this.bench.templates;
    if (experiment.mode === 'nested' && this.state.steps.some((step) => step.kind === 'interrupted')) {
      // a deploy killed midway committed part of its work, outside any transaction: a copy per run
      experiment.mode = 'deploy';
    }
    if (experiment.mode === 'nested' && (await this.deferredConstraints())) {
      // a state written under an initially-deferred constraint would leave its checks pending in
      // the shared transaction, where the migration then meets them (55006): PROD committed them
      // long ago, so such a state gets a copy of its own per run
      experiment.mode = 'deploy';
    }
    if (experiment.mode === 'nested') {
      const { client } = await this.sharedCopy();
      // the last run's transaction is rolled back with this one's BEGIN, in one round trip
      await timed('BEGIN and ROLLBACK', () => client.query(this.inTransaction ? 'ROLLBACK; BEGIN' : 'BEGIN'));
      this.inTransaction = true;
      try {
        await timed("the history's rows written", () => templates.completeState(client, this.state, history, 'nested'));
        return await observeMigration(client, experiment, history);
      } catch (error) {
        this.inTransaction = false;
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    }
    const { database, client } = await timed('a copy of the state made and dropped', async () => {
      const database = await templates.cloneWithoutHistory(this.state, `mig_${this.state.name}`);
      return { database, client: await connectClient(templates.connectionConfig(database.name)) };
    });
    try {
      await timed("the history's rows written", () => templates.completeState(client, this.state, history));
      return await observeMigration(client, experiment, history);
    } finally {
      await timed('a copy of the state made and dropped', async () => {
        await client.end().catch(() => undefined);
        await database.drop();
      });
    }
  }

  private deferred: Promise<boolean> | undefined;

  /** Whether the state's template has a constraint whose checks are deferred to COMMIT. */
  private deferredConstraints(): Promise<boolean> {
    this.deferred ??= this.sharedCopy().then(async ({ client }) => (await client.query<{ deferred: boolean }>('SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE condeferred) AS deferred')).rows[0]!.deferred);
    return this.deferred;
  }

  private sharedCopy(): Promise<{ database: StateDatabase; client: pg.Client }> {
    this.shared ??= (async () => {
      const templates = this.bench.templates;
      const database = await templates.cloneWithoutHistory(this.state, `mig_${this.state.name}`);
      return { database, client: await connectClient(templates.connectionConfig(database.name)) };
    })();
    return this.shared;
  }

  async close(): Promise<void> {
    const shared = await this.shared?.catch(() => undefined);
    if (!shared) return;
    await shared.client.end().catch(() => undefined);
    await shared.database.drop();
  }
}
