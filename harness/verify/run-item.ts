import { ACCEPTED, type MigrationOutcome } from '../check/migration-checks.ts';
import { openConcurrency } from '../groups/concurrency/concurrency-group.ts';
import { describeLiveDeploy, openLiveDeploy } from '../groups/concurrency/live-deploy.ts';
import { runMigrationGroup } from '../groups/migration/migration-group.ts';
import { openWrites } from '../groups/writes/writes-group.ts';
import type { GroupContext } from '../run/group-context.ts';
import { runProperty, type Execution, type PropertySpec } from '../run/property-runner.ts';
import type { LiveDeployFacts, PropertyResult } from '../run/property-result.ts';
import { commandFor } from '../run/run-config.ts';
import { serverErrorOf, type ServerError } from '../sessions/index.ts';
import { CHAIN_APPLIES, REACHES_TARGET, STATE_BUILDS, type WorkItem } from './work-items.ts';

/** What one item adds to its state's report. */
export interface ItemResult {
  properties: PropertyResult[];
  migration?: { outcome: MigrationOutcome; error?: string; catalogDiff?: string[] };
  skipped?: string[];
}

/** Runs one (state, group) item; a chain that cannot be applied or built is a verdict, never a setup error. */
export async function runItem<Op>(context: GroupContext<Op>, item: WorkItem): Promise<ItemResult> {
  const { bench, config } = context;
  const { state } = item;
  if ('error' in bench.reference) {
    return { properties: [failure(context, item, CHAIN_APPLIES, ['empty database', `migrate to ${bench.to}`], `the chain up to ${bench.to} applies`, bench.reference.error, bench.reference.server)], migration: { outcome: 'failed', error: bench.reference.error } };
  }
  const built = bench.built.get(state.name);
  if (built && 'error' in built) {
    const error = built.error.message;
    return { properties: [failure(context, item, STATE_BUILDS, [`build state ${state.name}`], `state ${state.name} can be built from the chain`, error, serverErrorOf(built.error))], migration: { outcome: 'failed', error } };
  }
  if (item.kind === 'migration') {
    // a replay of "the chain applies" or "the state builds" that no longer fails: that is its result
    if (config.property === CHAIN_APPLIES || config.property === STATE_BUILDS) return { properties: [held(context, config.property)] };
    const { results, observation } = await runMigrationGroup(context, state);
    return { properties: results, migration: observation && { outcome: observation.outcome, error: observation.failure?.message, catalogDiff: observation.catalogDiff } };
  }
  const history = bench.templates.historyFor(state, config.seed);
  if (item.kind === 'deploy') {
    const deploy = await openLiveDeploy(context, context.suite.concurrency!, state, history);
    if (!deploy) return { properties: [], skipped: [`live deploy: nothing to deploy (every revision up to ${bench.to} is recorded)`] };
    try {
      const [result] = (await runProperty(deploy.spec, state.name, config, context.progress)).results;
      return { properties: [withDeployFacts(context, item, result!, deploy.facts())] };
    } finally {
      await deploy.close();
    }
  }
  const opened = item.kind === 'writes' ? await openWrites(context, context.suite.writes!, state, history) : await openConcurrency(context, context.suite.concurrency!, state, history);
  const { target } = opened;
  try {
    const migration = target.migration!;
    const reached = ACCEPTED[state.expect].includes(migration.outcome);
    const reachedProperty = reached ? [] : [failure(context, item, REACHES_TARGET, [`build state ${state.name} with the run's history`, `migrate to ${bench.to}`], `migration ${state.expect === 'noop' ? 'noop' : 'converged'}`, `${migration.outcome}${migration.error ? `: ${migration.error}` : ''}`, migration.server)];
    const base = { migration: { outcome: migration.outcome, error: migration.error, catalogDiff: migration.catalogDiff } };
    if (migration.outcome === 'failed' && migration.catalogDiff.length === 0) {
      // the migration raised an error: nothing was migrated to write to (a state that drifted, or
      // whose migration applied without converging, is written to: that is how such bugs show)
      return { ...base, properties: reachedProperty, skipped: [`${item.kind}: migration failed: ${migration.error?.split('\n')[0]}`] };
    }
    const spec: PropertySpec<unknown, Execution> = opened.spec;
    const { results } = await runProperty(spec, state.name, config, context.progress);
    return { ...base, properties: [...reachedProperty, ...results] };
  } finally {
    await opened.close();
  }
}

/** A property that could not even start: the chain or the state is broken. */
function failure<Op>(context: GroupContext<Op>, item: WorkItem, name: string, steps: string[], expected: string, actual: string, error?: ServerError): PropertyResult {
  const [headline, ...details] = actual.split('\n');
  // replayed by the group that found it (a write group finds that its migration did not reach the target)
  const group = item.kind === 'migration' ? 'migration' : item.kind === 'writes' ? 'writes' : 'concurrency';
  const ref = { state: item.state.name, group, property: name, seed: context.config.seed } as const;
  return { name, group: 'migration', ok: false, runs: 1, ms: 0, seed: context.config.seed, counterexample: { steps, expected, actual: headline!, details, ...(error ? { error } : {}), replay: commandFor('verify', context.config, ref) } };
}

/** A one-off fact that holds (the replay of a failure that no longer fails). */
function held<Op>(context: GroupContext<Op>, name: string): PropertyResult {
  return { name, group: 'migration', ok: true, runs: 1, ms: 0, seed: context.config.seed };
}

/**
 * The live deploy's result with what its runs saw. Writers the deploy deadlocked or that were
 * cancelled are counted, not failed; with `--max-writer-deadlocks N` more than N of them fail
 * the property, its counterexample the first run that showed one (replayed by its path).
 */
function withDeployFacts<Op>(context: GroupContext<Op>, item: WorkItem, result: PropertyResult, facts: LiveDeployFacts): PropertyResult {
  const annotated: PropertyResult = { ...result, liveDeploy: facts, notes: [...describeLiveDeploy(facts), ...(result.notes ?? [])] };
  const max = context.config.maxWriterDeadlocks;
  const aborted = facts.writerDeadlocks + facts.writerCancellations;
  if (max === undefined || aborted <= max || !result.ok) return annotated;
  const ref = { state: item.state.name, group: 'concurrency' as const, property: result.name, seed: result.seed, ...(facts.example ? { path: facts.example.path } : {}) };
  return {
    ...annotated,
    ok: false,
    ...(facts.example ? { path: facts.example.path } : {}),
    counterexample: {
      steps: facts.example?.steps ?? [],
      expected: `at most ${max} writer statement(s) deadlocked or cancelled by the live deploy (--max-writer-deadlocks ${max})`,
      actual: `${facts.writerDeadlocks} deadlocked and ${facts.writerCancellations} cancelled, in ${facts.runsWithAborts} of ${facts.runs} run(s)`,
      details: facts.example?.aborted,
      replay: commandFor('verify', { ...context.config, maxWriterDeadlocks: 0 }, ref),
      script: commandFor('repro', context.config, ref),
    },
  };
}
