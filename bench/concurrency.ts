import fc from 'fast-check';
import pg from 'pg';
import { writeContext } from '../harness/check/verify.ts';
import { openWorkbench } from '../harness/check/workbench.ts';
import { prepareWriteTarget } from '../harness/check/write-properties.ts';
import { EmbeddedPostgresProvider } from '../harness/postgres/index.ts';
import { InterleavingExecutor, type SessionStep } from '../harness/sessions/index.ts';
import { concurrencyScenario } from '../properties/routing-outcomes/concurrency.ts';
import { flow, type Flow } from '../properties/routing-outcomes/flows.ts';
import suite from '../properties/routing-outcomes/suite.ts';
import type { BenchLine } from './measure.ts';

/**
 * Issue 4's figures: interleaved runs per second with three sessions (generation, executor
 * with lock-wait detection, model replay and final check), and what the executor adds per
 * step compared with sending the same statements one after another on one connection.
 */
export async function benchConcurrency(runs = 200): Promise<BenchLine[]> {
  const bench = await openWorkbench(suite, { provider: new EmbeddedPostgresProvider(), migrationsDir: suite.migrationsDir, states: ['staging'], log: () => undefined });
  try {
    const context = writeContext(bench, { runs, seed: 7, replayCommand: () => '' });
    const state = bench.states[0]!;
    const interleaved = await prepareWriteTarget(state, context);
    const sequential = await prepareWriteTarget(state, context);
    if ('skipped' in interleaved || 'skipped' in sequential) throw new Error('staging was not writable');
    const cases = fc.sample(fc.record({ flows: fc.array(flow, { minLength: 3, maxLength: 3 }), schedule: fc.array(fc.nat({ max: 2 }), { minLength: 10, maxLength: 30 }) }), { seed: 7, numRuns: runs });

    const config = context.templates.connectionConfig(interleaved.database.name);
    const executor = await InterleavingExecutor.connect(config, 3);
    const control = new pg.Client(config);
    await control.connect();
    const allSteps: SessionStep[] = [];
    let steps = 0;
    let blocked = 0;
    let executorMs = 0;
    const started = performance.now();
    for (const testCase of cases) {
      const run = concurrencyScenario.begin({ state }, testCase.flows as Flow[]);
      for (const step of run.setup) await control.query(step.sql, step.parameters as unknown[]);
      const before = performance.now();
      const events = await executor.run(run.programs, testCase.schedule);
      executorMs += performance.now() - before;
      steps += events.length;
      blocked += events.filter((e) => e.blocked).length;
      allSteps.push(...run.setup, ...events.slice().sort((a, b) => a.issued - b.issued).map((e) => e.step));
      const problems = await run.check(events, control);
      if (problems.length) throw new Error(`a concurrent run failed during the benchmark: ${JSON.stringify(problems[0])}`);
    }
    const totalMs = performance.now() - started;
    await executor.close();
    await control.end();

    // the same statements, in the order they were sent, on one connection, no scheduling
    const plain = new pg.Client(context.templates.connectionConfig(sequential.database.name));
    await plain.connect();
    const plainStarted = performance.now();
    for (const step of allSteps) await plain.query(step.sql, step.parameters as unknown[] | undefined).catch(() => undefined);
    const plainMs = performance.now() - plainStarted;
    await plain.query('ROLLBACK').catch(() => undefined);
    await plain.end();

    return [
      { name: `interleaved runs, 3 sessions (${steps} steps, ${blocked} blocked)`, value: (runs / totalMs) * 1000, unit: 'runs/s', note: `${runs} runs in ${Math.round(totalMs)} ms` },
      { name: 'executor time per step', value: (executorMs / steps) * 1000, unit: 'µs' },
      { name: 'same statements unscheduled, one connection', value: (plainMs / allSteps.length) * 1000, unit: 'µs/statement' },
      { name: 'executor overhead per step', value: ((executorMs / steps) - plainMs / allSteps.length) * 1000, unit: 'µs' },
    ];
  } finally {
    await bench.close();
  }
}
