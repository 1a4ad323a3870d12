import type { GroupContext } from '../../run/group-context.ts';
import type { PropertySpec } from '../../run/property-runner.ts';
import type { ConcurrencyProperty, ConcurrentCase } from '../../suite.ts';
import { WriteTarget } from '../writes/write-target.ts';
import { ReferenceDatabase } from '../writes/reference-target.ts';
import type { StartingState, StateHistory } from '../../states/index.ts';
import { describeConcurrent, runConcurrentCase, type ConcurrentExecution } from './concurrent-run.ts';

/**
 * The concurrency group: several writer sessions run generated flows on a generated schedule
 * against the migrated state (fresh keys and the rows the state started with, put back after
 * each run); one executor, one set of connections for every run.
 */
export function concurrencySpec<Op>(context: GroupContext<Op>, property: ConcurrencyProperty<Op>, target: WriteTarget, reference?: ReferenceDatabase<Op>): PropertySpec<ConcurrentCase<Op>, ConcurrentExecution> {
  return {
    group: 'concurrency',
    properties: [property.name],
    label: property.name,
    cases: property.cases,
    async execute(testCase) {
      await target.ready();
      const executor = await target.executor(property.maxSessions);
      return runConcurrentCase({ suite: context.suite, property: property.name, target, executor, ...(reference ? { reference: { database: reference, sessions: property.maxSessions } } : {}) }, testCase);
    },
    describe: (_case, run, problem) => describeConcurrent(run, problem),
    size: (run) => run.setup.length + run.events.length,
  };
}

/** The concurrency property of a state, on its own migrated copy; `close` drops it. */
export async function openConcurrency<Op>(context: GroupContext<Op>, property: ConcurrencyProperty<Op>, state: StartingState, history: StateHistory): Promise<{ target: WriteTarget; spec: PropertySpec<ConcurrentCase<Op>, ConcurrentExecution>; close(): Promise<void> }> {
  const target = await WriteTarget.open(context, state, history, { migrate: true, label: `concurrency_${state.name}` });
  const reference = context.suite.oracle === 'state-differential' ? new ReferenceDatabase(context, target) : undefined;
  return { target, spec: concurrencySpec(context, property, target, reference), close: async () => { await reference?.close(); await target.close(); } };
}
