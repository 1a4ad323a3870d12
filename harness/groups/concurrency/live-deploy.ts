import { timed } from '../../run/phase-timer.ts';
import { withClient } from '../../postgres/index.ts';
import type { GroupContext } from '../../run/group-context.ts';
import type { PropertySpec } from '../../run/property-runner.ts';
import type { LiveDeployFacts } from '../../run/property-result.ts';
import { durationOf } from '../../sessions/index.ts';
import type { ConcurrencyProperty, ConcurrentCase } from '../../suite.ts';
import type { StartingState, StateHistory } from '../../states/index.ts';
import { WriteTarget } from '../writes/write-target.ts';
import { DeployCopy } from './deploy-copy.ts';
import { LiveReplay } from './live-differential.ts';
import { describeConcurrent, permutation, runConcurrentCase, sessionName, type ConcurrentExecution } from './concurrent-run.ts';

export const LIVE_DEPLOY = 'live-deploy-keeps-valid-writes';

export interface LiveDeploy<Op> {
  spec: PropertySpec<ConcurrentCase<Op>, ConcurrentExecution>;
  /** What the runs saw besides the verdict: copies, lock waits, writers' deadlocks and cancellations. */
  facts(): LiveDeployFacts;
  close(): Promise<void>;
}

/**
 * The live deploy: the state as PROD has it (not yet migrated, the history the write groups
 * use), writers running the suite's flows, and the pending revisions sent by one more session,
 * as the runner sends them, as steps of the schedule. Before the migration commits the starting
 * state's rules hold, after it the target's; no valid write may be lost and the migration must
 * apply. Every run starts from the state exactly as it was (see DeployCopy). A writer the
 * deploy deadlocked (40P01) or that was cancelled (57014) is what the gateway would feel: it
 * is counted, with the first run that shows it, and is a verdict only under a budget
 * (`--max-writer-deadlocks`).
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
  const copy = new DeployCopy(bench.databases, probe, bench.migrator.chain.versionTable.tables, property.maxSessions + 1);
  const replay = context.suite.oracle === 'state-differential' ? new LiveReplay(context, probe, Math.max(1, property.maxSessions)) : undefined;
  const waits: number[] = [];
  const aborts = { deadlocks: 0, cancellations: 0, runs: 0 };
  const unjudged = { count: 0, reasons: new Map<string, number>() };
  let example: LiveDeployFacts['example'];
  let executed = 0;
  let failedBefore = false;
  const spec: PropertySpec<ConcurrentCase<Op>, ConcurrentExecution> = {
    group: 'concurrency',
    properties: [LIVE_DEPLOY],
    label: LIVE_DEPLOY,
    cases: property.cases,
    async execute(testCase) {
      const executor = await timed('a copy of the state made (first run, or after one that could not be put back)', () => copy.executor());
      try {
        const run = await runConcurrentCase({ suite: context.suite, property: LIVE_DEPLOY, target: probe, executor, deploy: plan, ...(replay ? { live: replay } : {}) }, testCase);
        if (run.unjudged) {
          unjudged.count++;
          unjudged.reasons.set(run.unjudged, (unjudged.reasons.get(run.unjudged) ?? 0) + 1);
        }
        const writers = run.events.filter((e) => e.session !== run.deploySession);
        waits.push(...writers.filter((e) => e.blockedBy.includes(run.deploySession!)).map(durationOf));
        const deadlocked = writers.filter((e) => e.outcome.kind === 'error' && e.outcome.sqlstate === '40P01');
        const cancelled = writers.filter((e) => e.timedOut || (e.outcome.kind === 'error' && e.outcome.sqlstate === '57014'));
        aborts.deadlocks += deadlocked.length;
        aborts.cancellations += cancelled.length;
        if (deadlocked.length + cancelled.length > 0) {
          aborts.runs++;
          // the fast-check path of a run of the first pass is its index (after a failure, shrinking reorders them)
          example ??= failedBefore ? undefined : {
            path: String(executed),
            steps: describeConcurrent(run, { expected: '', actual: '' }).steps,
            aborted: [...deadlocked, ...cancelled].map((e) => `${sessionName(e.session, run.deploySession)} ${e.step.meta?.kind === 'writer' ? e.step.meta.label : e.step.name}: ${e.outcome.kind === 'error' ? `${e.outcome.sqlstate} ${e.outcome.message}` : 'cancelled'}`),
            permutation: permutation(run),
          };
        }
        failedBefore ||= run.problems.length > 0;
        return run;
      } finally {
        executed++;
        await copy.putBack();
      }
    },
    describe: (_case, run, problem) => describeConcurrent(run, problem),
    size: (run) => run.setup.length + run.events.filter((e) => e.session !== run.deploySession).length,
  };
  return {
    spec,
    facts: () => ({
      revisions: plan.migrations.map((m) => m.revision),
      runs: copy.counts.runs,
      copies: copy.counts.copies,
      lockWaits: { count: waits.length, maxMs: waits.length ? Math.round(Math.max(...waits) * 10) / 10 : 0, totalMs: Math.round(waits.reduce((a, b) => a + b, 0) * 10) / 10 },
      writerDeadlocks: aborts.deadlocks,
      writerCancellations: aborts.cancellations,
      runsWithAborts: aborts.runs,
      ...(example ? { example } : {}),
      ...(unjudged.count ? { unjudged: { runs: unjudged.count, why: [...unjudged.reasons].map(([why, n]) => `${n}: ${why}`).join('; ') } } : {}),
    }),
    async close() {
      await copy.close();
      await replay?.close();
      await probe.close();
    },
  };
}

/** The facts as the lines under the state's verdict (console and report.md). */
export function describeLiveDeploy(facts: LiveDeployFacts): string[] {
  const revisions = facts.revisions.join(', ');
  const lines = [
    `live deploy: ${facts.runs} run(s) on ${facts.copies} copy(ies) of the state (a copy is used again only when put back exactly as it was)`,
    facts.lockWaits.count === 0
      ? `live deploy of ${revisions}: no writer waited on the migration's lock`
      : `live deploy of ${revisions}: writers waited on the migration's lock ${facts.lockWaits.count} time(s), max ${facts.lockWaits.maxMs.toFixed(1)} ms, total ${facts.lockWaits.totalMs.toFixed(1)} ms`,
    `live deploy: writers deadlocked ${facts.writerDeadlocks} time(s) and were cancelled ${facts.writerCancellations} time(s), in ${facts.runsWithAborts} of ${facts.runs} run(s)`,
  ];
  if (facts.unjudged) lines.push(`live deploy: ${facts.unjudged.runs} of ${facts.runs} run(s) not judged by the state differential (${facts.unjudged.why})`);
  if (facts.example) {
    lines.push(`  e.g. run --path ${facts.example.path}: ${facts.example.aborted.join('; ')}`, ...facts.example.steps.map((step) => `    ${step}`));
  }
  return lines;
}
