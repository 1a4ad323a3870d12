import type { CatalogSnapshot } from '../catalog/index.ts';
import type { Migrator } from '../migrate/index.ts';
import { connectClient } from '../postgres/index.ts';
import { describeStep, type Expectation, type StartingState, type StateDatabase, type StateHistory, type StateTemplates } from '../states/index.ts';
import { observeMigration, type MigrationObservation, type MigrationOutcome } from './migration-experiment.ts';
import type { Counterexample, PropertyResult } from './property-result.ts';
import type { Progress } from '../report/progress.ts';
import { runProperty } from './run-property.ts';

/** A fact every run of a state's migration must satisfy; returns a problem or nothing. */
interface MigrationCheck {
  name: string;
  appliesTo: readonly Expectation[];
  problem(observation: MigrationObservation, expect: Expectation): string | undefined;
}

const ACCEPTED: Record<Expectation, readonly MigrationOutcome[]> = {
  converge: ['converged', 'noop'],
  noop: ['noop'],
  'fail-atomically': ['failed-atomically'],
  drift: ['drift'],
};

const CHECKS: readonly MigrationCheck[] = [
  {
    name: 'outcome-as-expected',
    appliesTo: ['converge', 'noop', 'fail-atomically', 'drift'],
    problem: (o, expect) => (ACCEPTED[expect].includes(o.outcome) ? undefined : `${o.outcome}${o.failure ? `: ${o.failure.message}` : ''}`),
  },
  {
    name: 'catalog-converges',
    appliesTo: ['converge', 'noop'],
    problem: (o) => (o.failure ? `migration failed: ${o.failure.message}` : o.catalogDiff.length ? `catalog differs from fresh:\n${o.catalogDiff.join('\n')}` : undefined),
  },
  {
    name: 'rows-preserved',
    appliesTo: ['converge', 'noop', 'fail-atomically', 'drift'],
    problem: (o) => (o.dataChanges.length ? `pre-existing rows changed:\n${o.dataChanges.join('\n')}` : undefined),
  },
  {
    name: 'idempotent',
    appliesTo: ['converge', 'noop'],
    problem: (o) => (o.reapplyProblems.length ? o.reapplyProblems.join('\n') : undefined),
  },
  {
    name: 'atomic-on-failure',
    appliesTo: ['fail-atomically'],
    problem: (o) => {
      if (!o.failure) return `migration did not fail (${o.outcome})`;
      if (o.leftovers.length) return `failed migration left changes behind:\n${o.leftovers.join('\n')}`;
      if (!o.failure.constraint || !o.failure.message.includes(o.failure.constraint)) return `error does not name the violated constraint: ${o.failure.message}`;
      if (!o.failure.violatingRows) return `violating rows were not counted: ${o.failure.message}`;
      return undefined;
    },
  },
];

export interface MigrationPropertyContext {
  templates: StateTemplates;
  migrator: Migrator;
  to: string;
  reference: CatalogSnapshot;
  runs: number;
  seed: number;
  path?: string;
  replayCommand: (state: StartingState, seed: number, path: string) => string;
  progress?: Progress;
}

export interface StateMigrationResult {
  outcome: MigrationOutcome;
  error?: string;
  catalogDiff: string[];
  properties: PropertyResult[];
}

/**
 * The migration group for one state: over generated histories, migrate a fresh clone and
 * check every fact its expectation implies (outcome, convergence, preserved rows,
 * idempotency, atomicity). One experiment per run feeds all checks.
 */
export async function checkStateMigration(state: StartingState, context: MigrationPropertyContext): Promise<StateMigrationResult> {
  const workspace = new Workspace(state, context.templates);
  try {
    return await runMigrationChecks(state, context, workspace);
  } finally {
    await workspace.drop();
  }
}

async function runMigrationChecks(state: StartingState, context: MigrationPropertyContext, workspace: Workspace): Promise<StateMigrationResult> {
  const checks = CHECKS.filter((check) => check.appliesTo.includes(state.expect));
  const firstFailure = new Map<string, number>();
  const observed = new WeakMap<StateHistory, { observation: MigrationObservation; problems: Map<string, string> }>();
  let evaluated = 0;
  let first: MigrationObservation | undefined;
  const hasHistory = state.steps.some((step) => step.kind === 'rows');
  const runs = hasHistory ? context.runs : 1;
  const task = context.progress?.start(state.name, `migration checks (${checks.length})`, 'migration', runs);

  const outcome = await runProperty(
    context.templates.historyArbitrary(state),
    async (history) => {
      const observation = await migrateClone(state, history, context, workspace);
      first ??= observation;
      evaluated++;
      const problems = new Map<string, string>();
      for (const check of checks) {
        const problem = check.problem(observation, state.expect);
        if (problem !== undefined) problems.set(check.name, problem);
      }
      observed.set(history, { observation, problems });
      for (const name of problems.keys()) if (!firstFailure.has(name)) firstFailure.set(name, evaluated);
      return problems.size === 0;
    },
    { runs, seed: context.seed, path: context.path, onRun: (passed) => task?.tick(passed) },
  );

  // the minimal case was already migrated during shrinking: report what it did
  const minimal = outcome.counterexample ? observed.get(outcome.counterexample) : undefined;
  const failing = minimal?.problems ?? new Map<string, string>();
  const shown = minimal?.observation ?? first;
  const properties = checks.map((check): PropertyResult => {
    const problem = failing.get(check.name);
    const base = { name: check.name, group: 'migration' as const, ms: outcome.ms, seed: outcome.seed };
    if (problem === undefined) {
      // held on the minimal case; if it failed on some earlier, unshrunk run, say so
      const failedAt = firstFailure.get(check.name);
      return failedAt === undefined ? { ...base, ok: true, runs: outcome.runs } : { ...base, ok: false, runs: failedAt, notes: [`failed on run ${failedAt}, not on the minimal case`] };
    }
    return {
      ...base,
      ok: false,
      runs: outcome.runs,
      path: outcome.path,
      counterexample: counterexample(state, outcome.counterexample!, context, problem, check.name, outcome.seed, outcome.path ?? ''),
    };
  });
  if (!outcome.ok && failing.size === 0 && outcome.failure) {
    properties.push({
      name: 'migration-runs', group: 'migration', ok: false, ms: outcome.ms, seed: outcome.seed, runs: outcome.runs, path: outcome.path,
      counterexample: { steps: stateSteps(state, outcome.counterexample ?? []), expected: 'the experiment to run', actual: String((outcome.failure as Error)?.message ?? outcome.failure) },
    });
  }
  task?.done({ name: 'migration', group: 'migration', ok: properties.every((p) => p.ok), runs: outcome.runs, ms: outcome.ms, seed: outcome.seed });
  return {
    outcome: shown?.outcome ?? 'failed',
    error: shown?.failure?.message,
    catalogDiff: shown?.catalogDiff ?? [],
    properties,
  };
}

/**
 * One run: the state completed with this history, migrated, observed. When every revision is
 * transactional the run happens inside one transaction on a single clone of the state and is
 * rolled back afterwards (each revision under a savepoint, which fails and rolls back exactly
 * like its own transaction); otherwise every run gets a clone of its own.
 */
async function migrateClone(state: StartingState, history: StateHistory, context: MigrationPropertyContext, workspace: Workspace): Promise<MigrationObservation> {
  const nested = context.migrator.canNest(context.to);
  const database = nested ? await workspace.database() : await context.templates.cloneWithoutHistory(state, `mig_${state.name}`);
  const client = await connectClient(context.templates.connectionConfig(database.name));
  try {
    if (nested) await client.query('BEGIN');
    await context.templates.completeState(client, state, history, nested);
    return await observeMigration(client, context.migrator, context.to, context.reference, nested);
  } finally {
    if (nested) await client.query('ROLLBACK').catch(() => undefined);
    await client.end();
    if (!nested) await database.drop();
  }
}

/** The one clone of a state that transactional runs share. */
class Workspace {
  private clone: Promise<StateDatabase> | undefined;
  constructor(
    private readonly state: StartingState,
    private readonly templates: StateTemplates,
  ) {}
  database(): Promise<StateDatabase> {
    this.clone ??= this.templates.cloneWithoutHistory(this.state, `mig_${this.state.name}`);
    return this.clone;
  }
  async drop(): Promise<void> {
    if (this.clone) await (await this.clone).drop();
  }
}

function stateSteps(state: StartingState, history: StateHistory): string[] {
  let rowsIndex = 0;
  return state.steps.flatMap((step) => (step.kind === 'rows' ? [`${step.label}:`, ...(history[rowsIndex++]?.summary ?? []).map((line) => `  ${line}`)] : [describeStep(step)]));
}

const EXPECTED: Record<Expectation, string> = {
  converge: 'converged (catalog equal to fresh, rows kept, idempotent)',
  noop: 'noop (nothing applied, nothing changed)',
  'fail-atomically': 'failed-atomically (error names the constraint and counts violating rows; catalog and data unchanged)',
  drift: 'drift (recorded as applied, catalog differs from the target)',
};

function counterexample(
  state: StartingState,
  history: StateHistory,
  context: MigrationPropertyContext,
  problem: string,
  check: string,
  seed: number,
  path: string,
): Counterexample {
  const [headline, ...details] = problem.split('\n');
  return {
    steps: [...stateSteps(state, history), `migrate to ${context.to}`],
    expected: `${check}: ${EXPECTED[state.expect]}`,
    actual: headline!,
    sql: history.flatMap((rows) => rows.sql),
    details,
    replay: context.replayCommand(state, seed, path),
  };
}
