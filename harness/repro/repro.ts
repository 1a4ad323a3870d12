import { checksFor } from '../check/migration-checks.ts';
import { SetupError } from '../errors.ts';
import { openConcurrency } from '../groups/concurrency/concurrency-group.ts';
import type { ConcurrentExecution } from '../groups/concurrency/concurrent-run.ts';
import { LIVE_DEPLOY, openLiveDeploy } from '../groups/concurrency/live-deploy.ts';
import { runMigrationGroup } from '../groups/migration/migration-group.ts';
import { openWrites, type WritesExecution } from '../groups/writes/writes-group.ts';
import type { GroupContext } from '../run/group-context.ts';
import { runProperty, type Execution, type PropertySpec } from '../run/property-runner.ts';
import type { RunConfig } from '../run/run-config.ts';
import { openWorkbench, planRun } from '../run/workbench.ts';
import type { Suite } from '../suite.ts';
import { migrationScript, reproScript, reproSpec, type ReproCase } from './repro-text.ts';

/** Which failure to reproduce: the state, property, seed and path a failure printed. */
export interface ReproRequest {
  state: string;
  property: string;
  seed: number;
  path: string;
}

/**
 * Replays exactly one failing run (the same state rows, the same property, the same case) on
 * a real server, and turns it into something that reproduces it anywhere: a SQL script for a
 * migration or writes failure, an isolation-tester spec (one block per session, the deploy
 * included, and the permutation) for a concurrency one.
 */
export async function reproduce<Op>(suite: Suite<Op>, base: RunConfig, request: ReproRequest, log: (line: string) => void = () => undefined): Promise<string> {
  const config: RunConfig = Object.freeze({ ...base, states: [request.state], property: request.property, seed: request.seed, path: request.path, workers: 1, shard: undefined });
  const plan = await planRun(suite, config);
  const state = plan.states[0]!;
  const kind = propertyKind(suite, state.expect, request.property);
  const bench = await openWorkbench(suite, config, log, plan);
  try {
    if ('error' in bench.reference) throw new SetupError(`the chain does not apply to an empty database, nothing to reproduce beyond that: ${bench.reference.error}`);
    const context: GroupContext<Op> = { suite, bench, config, log };
    const input = (history: ReproCase['history']): ReproCase => ({ suite: suite.name, state, history, migrator: bench.migrator, to: bench.to, anchor: bench.anchor, seed: request.seed, path: request.path, property: request.property });
    const notFailing = () => new SetupError(`seed ${request.seed} with path ${request.path} does not fail ${request.property} in state ${state.name}: nothing to reproduce (use the seed and path a failure printed)`);
    if (kind === 'migration') {
      const { results, failingHistory } = await runMigrationGroup(context, state);
      const failed = results.find((r) => r.name === request.property && !r.ok && r.counterexample);
      if (!failed || !failingHistory) throw notFailing();
      return migrationScript(input(failingHistory), failed.counterexample!.expected, failed.counterexample!.actual, failed.counterexample!.error);
    }
    const history = bench.templates.historyFor(state, config.seed);
    const opened = kind === 'writes' ? await openWrites(context, suite.writes!, state, history) : kind === 'concurrency' ? await openConcurrency(context, suite.concurrency!, state, history) : await openLiveDeploy(context, suite.concurrency!, state, history);
    if (!opened) throw new SetupError(`state ${state.name} has nothing to deploy: every revision is recorded`);
    try {
      const spec: PropertySpec<unknown, Execution> = opened.spec;
      const { failing } = await runProperty(spec, state.name, config);
      if (!failing) throw notFailing();
      if (kind === 'writes') {
        const run = failing as WritesExecution;
        return reproScript(input(history), run.events, run.verdict.order.length, run.verdict.mismatches[0]?.expected ?? '');
      }
      return reproSpec(input(history), failing as ConcurrentExecution);
    } finally {
      await opened.close();
    }
  } finally {
    await bench.close();
  }
}

function propertyKind<Op>(suite: Suite<Op>, expect: Parameters<typeof checksFor>[0], property: string): 'migration' | 'writes' | 'concurrency' | 'deploy' {
  if (checksFor(expect, suite.idempotency).includes(property)) return 'migration';
  if (suite.writes?.name === property) return 'writes';
  if (suite.concurrency?.name === property) return 'concurrency';
  if (suite.concurrency && property === LIVE_DEPLOY) return 'deploy';
  const known = [...checksFor(expect, suite.idempotency), suite.writes?.name, suite.concurrency?.name, suite.concurrency && LIVE_DEPLOY].filter(Boolean);
  throw new SetupError(`unknown property "${property}" for this state (properties: ${known.join(', ')})`);
}
