import { withClient } from '../../postgres/index.ts';
import type { GroupContext } from '../../run/group-context.ts';
import type { PropertySpec } from '../../run/property-runner.ts';
import { durationOf } from '../../sessions/index.ts';
import type { ConcurrencyProperty, ConcurrentCase } from '../../suite.ts';
import type { StartingState, StateHistory } from '../../states/index.ts';
import { WriteTarget } from '../writes/write-target.ts';
import { DeployCopy } from './deploy-copy.ts';
import { describeConcurrent, runConcurrentCase, type ConcurrentExecution } from './concurrent-run.ts';

export const LIVE_DEPLOY = 'live-deploy-keeps-valid-writes';

export interface LiveDeploy<Op> {
  spec: PropertySpec<ConcurrentCase<Op>, ConcurrentExecution>;
  close(): Promise<void>;
}

/**
 * The live deploy: the state as PROD has it (not yet migrated, the history the write groups
 * use), writers running the suite's flows, and the pending revisions sent by one more session,
 * as the runner sends them, as steps of the schedule. Before the migration commits the starting
 * state's rules hold, after it the target's; no valid write may be lost and the migration must
 * apply. Every run starts from the state exactly as it was (see DeployCopy).
 */
export async function openLiveDeploy<Op>(context: GroupContext<Op>, property: ConcurrencyProperty<Op>, state: StartingState, history: StateHistory): Promise<LiveDeploy<Op> | undefined> {
  const { bench } = context;
  const probe = await WriteTarget.open(context, state, history, { migrate: false, label: `deploy_${state.name}` });
  const applied = await withClient(probe.config(), (client) => bench.migrator.applied(client));
  const plan = bench.migrator.planTo(applied, bench.to);
  if (plan.migrations.length === 0) {
    await probe.close();
    return undefined;
  }
  const copy = new DeployCopy(bench.databases, probe, bench.migrator.chain.versionTable.name, property.maxSessions + 1);
  const waits: number[] = [];
  const revisions = plan.migrations.map((m) => m.revision).join(', ');
  const spec: PropertySpec<ConcurrentCase<Op>, ConcurrentExecution> = {
    group: 'concurrency',
    properties: [LIVE_DEPLOY],
    label: LIVE_DEPLOY,
    cases: property.cases,
    async execute(testCase) {
      const executor = await copy.executor();
      try {
        const run = await runConcurrentCase({ suite: context.suite, property: LIVE_DEPLOY, target: probe, executor, deploy: plan }, testCase);
        waits.push(...run.events.filter((e) => e.session !== run.deploySession && e.blockedBy.includes(run.deploySession!)).map(durationOf));
        return run;
      } finally {
        await copy.putBack();
      }
    },
    describe: (_case, run, problem) => describeConcurrent(run, problem),
    size: (run) => run.setup.length + run.events.filter((e) => e.session !== run.deploySession).length,
    notes: () => [
      `live deploy: ${copy.counts.runs} run(s) on ${copy.counts.copies} copy(ies) of the state (a copy is used again only when put back exactly as it was)`,
      waits.length === 0
        ? `live deploy of ${revisions}: no writer waited on the migration's lock`
        : `live deploy of ${revisions}: writers waited on the migration's lock ${waits.length} time(s), max ${Math.max(...waits).toFixed(1)} ms, total ${waits.reduce((a, b) => a + b, 0).toFixed(1)} ms`,
    ],
  };
  return {
    spec,
    async close() {
      await copy.close();
      await probe.close();
    },
  };
}
