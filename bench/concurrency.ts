import fc from 'fast-check';
import { openConcurrency } from '../harness/groups/concurrency/concurrency-group.ts';
import { openLiveDeploy } from '../harness/groups/concurrency/live-deploy.ts';
import type { ConcurrentExecution } from '../harness/groups/concurrency/concurrent-run.ts';
import { queryOf } from '../harness/sessions/index.ts';
import { benchConfig, withWorkbench, type BenchSuite } from './bench-context.ts';
import type { BenchLine } from './measure.ts';

/** Two sessions sent a statement carrying the same key (a shared row): the case contends. */
function contended(run: ConcurrentExecution): boolean {
  const keysBySession = new Map<number, Set<string>>();
  for (const event of run.events) {
    if (event.step.meta?.kind !== 'writer') continue;
    const keys = keysBySession.get(event.session) ?? new Set<string>();
    for (const value of event.step.parameters ?? []) if (typeof value === 'string' && /^[0-9a-f-]{36}$/.test(value)) keys.add(value);
    keysBySession.set(event.session, keys);
  }
  const sets = [...keysBySession.values()];
  return sets.some((a, i) => sets.slice(i + 1).some((b) => [...a].some((key) => b.has(key))));
}

/**
 * Interleaved runs per second (generation, executor with lock-wait detection, read-back and
 * reset, the admissible-order check), what the executor adds per step over the same
 * statements sent one after another, the share of contended cases and of blocked steps, and
 * live-deploy runs per second (a copy of the state per run).
 */
export async function benchConcurrency({ suite }: BenchSuite, runs = 300): Promise<BenchLine[]> {
  const property = suite.concurrency!;
  const state = suite.states.find((s) => property.deployStates.includes(s.name)) ?? suite.states.find((s) => s.expect === 'converge')!;
  return withWorkbench(suite, benchConfig(suite, { states: [state.name] }), async (bench, config) => {
    const context = { suite, bench, config, log: () => undefined };
    const history = bench.templates.historyFor(bench.states[0]!, config.seed);
    const cases = fc.sample(property.cases, { seed: 7, numRuns: runs });
    const opened = await openConcurrency(context, property, bench.states[0]!, history);
    const lines: BenchLine[] = [];
    try {
      const executions: ConcurrentExecution[] = [];
      const started = performance.now();
      for (const testCase of cases) executions.push(await opened.spec.execute(testCase));
      const totalMs = performance.now() - started;
      const steps = executions.flatMap((run) => run.events);
      const executorMs = steps.reduce((sum, e) => sum + (e.end - e.start), 0);
      const failing = executions.filter((run) => run.problems.length > 0).length;
      // the same statements, in the order they were sent, on one connection, no scheduling
      const plain = await opened.target.client();
      const plainStarted = performance.now();
      for (const event of steps) await plain.query(queryOf(event.step)).catch(() => undefined);
      await plain.query('ROLLBACK').catch(() => undefined);
      const plainMs = performance.now() - plainStarted;
      lines.push(
        { name: `interleaved runs (${steps.length} steps, ${failing} failing run(s))`, value: (runs / totalMs) * 1000, unit: 'runs/s', note: `${runs} runs in ${Math.round(totalMs)} ms` },
        { name: 'contended cases (two sessions sent the same key)', value: (100 * executions.filter(contended).length) / runs, unit: '%', note: 'target >= 50%' },
        { name: 'blocked steps (waited on another session\'s lock)', value: (100 * steps.filter((e) => e.blocked).length) / steps.length, unit: '%', note: `${steps.filter((e) => e.blocked).length} of ${steps.length}` },
        { name: 'time per step in the executor, send to result', value: (executorMs / steps.length) * 1000, unit: 'µs' },
        { name: 'same statements unscheduled, one connection', value: (plainMs / steps.length) * 1000, unit: 'µs/statement' },
      );
    } finally {
      await opened.close();
    }
    if (property.deployStates.includes(state.name)) {
      const deploy = await openLiveDeploy(context, property, bench.states[0]!, history);
      if (deploy) {
        const n = Math.min(100, runs);
        const started = performance.now();
        try {
          for (const testCase of cases.slice(0, n)) await deploy.spec.execute(testCase);
        } finally {
          await deploy.close();
        }
        lines.push({ name: `live-deploy runs (a copy of ${state.name} per run)`, value: (n / (performance.now() - started)) * 1000, unit: 'runs/s', note: `${n} runs` });
      }
    }
    return lines;
  });
}
