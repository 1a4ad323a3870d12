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
import { perCloneSteps, StateBuildError } from '../states/index.ts';
import { buildCause, type BuildCause } from './state-build.ts';
import { CHAIN_APPLIES, REACHES_TARGET, STATE_BUILDS, type WorkItem } from './work-items.ts';

/** What one item adds to its state's report. */
/** The rows that stood in the way of a failed migration: how many, of which table and constraint, the first keys, the SELECT listing them all. */
export interface Violating {
  count: number;
  table: string;
  constraint: string;
  keys: string[];
  select: string;
}

export interface ItemResult {
  properties: PropertyResult[];
  migration?: { outcome: MigrationOutcome; error?: string; catalogDiff?: string[]; violating?: Violating; keptDrift?: string[] };
  skipped?: string[];
  /** The state could not be built, and the suite's own setup (not the revision under test) is why: exit 2. */
  setupError?: string;
}

/** Runs one (state, group) item; a chain that cannot be applied or built is a verdict, never a setup error. */
export async function runItem<Op>(context: GroupContext<Op>, item: WorkItem): Promise<ItemResult> {
  const { bench, config } = context;
  const { state } = item;
  if ('error' in bench.reference) {
    return { properties: [failure(context, item, CHAIN_APPLIES, ['empty database', `migrate to ${bench.to}`], `the chain up to ${bench.to} applies`, bench.reference.error, bench.reference.server)], migration: { outcome: 'failed', error: bench.reference.error } };
  }
  const template = bench.built.get(state.name);
  if (template && 'error' in template) return unbuildable(context, item, template.error, [`build state ${state.name}`]);
  if (item.kind === 'migration') {
    // a replay of "the chain applies" (or "the state builds", for a state built once) that no longer fails: that is its result
    if (config.property === CHAIN_APPLIES || (config.property === STATE_BUILDS && perCloneSteps(state).length === 0)) return { properties: [held(context, config.property)] };
    const { results, observation, buildError } = await runMigrationGroup(context, state);
    const failure = observation?.failure;
    const violating = failure?.violatingRows !== undefined && failure.table ? { count: failure.violatingRows, table: failure.table, constraint: failure.constraint ?? failure.column ?? '?', keys: failure.violatingKeys ?? [], select: failure.selectViolating ?? '' } : undefined;
    const migration = observation && { outcome: observation.outcome, error: failure?.message, catalogDiff: observation.catalogDiff, ...(violating ? { violating } : {}), ...(observation.keptDrift ? { keptDrift: observation.keptDrift } : {}) };
    return buildError ? { ...notBuiltWithEveryHistory(context, item, results, buildError), ...(migration ? { migration } : {}) } : { properties: results, ...(migration ? { migration } : {}) };
  }
  const history = bench.templates.historyFor(state, config.seed);
  const withHistory = [`build state ${state.name} with the run's history:`, ...history.flatMap((rows) => rows.summary.map((line) => `  ${line}`))];
  if (item.kind === 'deploy') {
    const copy = await openOrWhyNot(() => openLiveDeploy(context, context.suite.concurrency!, state, history));
    if ('buildError' in copy) return unbuildable(context, item, copy.buildError, withHistory);
    const deploy = copy.opened;
    if (!deploy) return { properties: [], skipped: [`live deploy: nothing to deploy (every revision up to ${bench.to} is recorded)`] };
    try {
      const [result] = (await runProperty(deploy.spec, state.name, config, context.progress)).results;
      return { properties: [withDeployFacts(context, item, result!, deploy.facts())] };
    } finally {
      await deploy.close();
    }
  }
  const group = await openOrWhyNot(async () => (item.kind === 'writes' ? await openWrites(context, context.suite.writes!, state, history) : await openConcurrency(context, context.suite.concurrency!, state, history)));
  if ('buildError' in group) return unbuildable(context, item, group.buildError, withHistory);
  const opened = group.opened;
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
    const { results } = await runProperty(opened.spec as PropertySpec<unknown, Execution>, state.name, config, context.progress);
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
  // a live deploy none of whose runs could be judged proved nothing: it is not a pass
  if (result.ok && facts.unjudged && facts.unjudged.runs >= facts.runs) {
    return { ...annotated, ok: false, counterexample: { steps: [], expected: 'runs of the live deploy the state differential can judge', actual: `none of ${facts.runs} run(s) could be judged: ${facts.unjudged.why}`, replay: commandFor('verify', context.config, { state: item.state.name, group: 'concurrency', property: result.name, seed: result.seed }) } };
  }
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

/** Opens a group's database, or says which state step could not be built. */
async function openOrWhyNot<T>(open: () => Promise<T>): Promise<{ opened: T } | { buildError: StateBuildError }> {
  try {
    return { opened: await open() };
  } catch (error) {
    if (error instanceof StateBuildError) return { buildError: error };
    throw error;
  }
}

/** Who made the state unbuildable (see buildCause), and how the report says it. */
function causeOf<Op>(context: GroupContext<Op>, error: StateBuildError): { cause: BuildCause; why: string } {
  const cause = buildCause(error, context.bench.migrator, context.bench.anchor, context.bench.to);
  return { cause, why: cause === 'suite-setup' ? "the suite's own setup fails before the revision under test" : `it fails once ${context.bench.to} is applied` };
}

const GROUP_OF: Record<WorkItem['kind'], string> = { migration: 'migration checks', writes: 'writes', concurrency: 'concurrency', deploy: 'live deploy' };

/**
 * A state that cannot be built is that state's result: its properties are not run, and why is
 * said. When the revision under test is the cause, that is a failure (state-builds, exit 1);
 * when the suite's own setup before it is, a setup error of that state (exit 2). The other
 * states' results stand either way.
 */
function unbuildable<Op>(context: GroupContext<Op>, item: WorkItem, error: StateBuildError, steps: string[]): ItemResult {
  const { cause, why } = causeOf(context, error);
  const skipped = [`${GROUP_OF[item.kind]}: not run: state ${item.state.name} cannot be built (${why}): ${error.message.split('\n')[0]}`];
  if (cause === 'suite-setup') return { properties: [], skipped, setupError: `state ${item.state.name} cannot be built: ${error.message}` };
  return { properties: [failure(context, item, STATE_BUILDS, steps, `state ${item.state.name} can be built (the revision under test, ${context.bench.to}, must accept what the state writes after it)`, error.message, serverErrorOf(error))], skipped };
}

/**
 * The migration group met a history its state cannot be built with: state-builds failed (or,
 * when the suite's own setup is the cause, a setup error). A check that held on the other
 * histories is not reported as holding: it is listed as not run, with the reason.
 */
function notBuiltWithEveryHistory<Op>(context: GroupContext<Op>, item: WorkItem, results: PropertyResult[], error: StateBuildError): ItemResult {
  const { cause, why } = causeOf(context, error);
  const unproven = results.filter((r) => r.ok && r.name !== STATE_BUILDS).map((r) => r.name);
  const kept = results.filter((r) => !r.ok && (r.name !== STATE_BUILDS || cause === 'revision-under-test'));
  const skipped = unproven.length ? [`${GROUP_OF.migration} ${unproven.join(', ')}: not run on every history: state ${item.state.name} cannot be built with some (${why}): ${error.message.split('\n')[0]}`] : [];
  return { properties: kept, skipped, ...(cause === 'suite-setup' ? { setupError: `state ${item.state.name} cannot be built with some histories: ${error.message}` } : {}) };
}
