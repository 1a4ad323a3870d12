import pg from 'pg';
import { checkWrites, prepareWriteTarget } from '../harness/check/write-properties.ts';
import { writeContext } from '../harness/check/verify.ts';
import { openWorkbench, type Workbench } from '../harness/check/workbench.ts';
import type { Operation, Statement, WriteScenario } from '../harness/check/write-scenario.ts';
import { EmbeddedPostgresProvider } from '../harness/postgres/index.ts';
import suite from '../properties/routing-outcomes/suite.ts';
import { median, type BenchLine } from './measure.ts';

/**
 * SPEC §8 throughput: write-path statements per second through the harness (generation,
 * model, execution, per-run checks) next to a plain pg client replaying exactly the same
 * statements on one connection, on an identical copy of the same state.
 * And the AIN-300 self-check: how long until the shrunk counterexample exists.
 */
export async function benchWrites(runs = 400, rounds = 5): Promise<BenchLine[]> {
  const bench = await openWorkbench(suite, { provider: new EmbeddedPostgresProvider(), migrationsDir: suite.migrationsDir, states: ['staging'], log: () => undefined });
  try {
    await harnessAgainstPlain(bench, 50); // warm-up: JIT, connections, catalog caches
    const measured: { statements: number; harness: number; plain: number }[] = [];
    for (let round = 0; round < rounds; round++) measured.push(await harnessAgainstPlain(bench, runs));
    const harnessRates = measured.map((m) => (m.statements / m.harness) * 1000);
    const plainRates = measured.map((m) => (m.statements / m.plain) * 1000);
    const ratios = measured.map((m) => m.plain / m.harness);
    return [
      { name: `harness: ~${measured[0]!.statements} write statements in ${runs} runs`, value: median(harnessRates), unit: 'statements/s', note: `median of ${rounds}: ${harnessRates.map(Math.round).join(', ')}` },
      { name: 'plain pg client, same statements, one connection', value: median(plainRates), unit: 'statements/s', note: `median of ${rounds}: ${plainRates.map(Math.round).join(', ')}` },
      { name: 'ratio harness / plain (target >= 0.5)', value: median(ratios), unit: '', note: `per round: ${ratios.map((r) => r.toFixed(2)).join(', ')}` },
      ...(await benchSelfCheck()),
    ];
  } finally {
    await bench.close();
  }
}

/** One round: the harness on one copy of the state, then a plain client replaying its statements on another. */
async function harnessAgainstPlain(bench: Workbench, runs: number): Promise<{ statements: number; harness: number; plain: number }> {
  const state = bench.states[0]!;
  const context = writeContext(bench, { runs, seed: Math.floor(Math.random() * 2 ** 31), replayCommand: () => '' });
  const forHarness = await prepareWriteTarget(state, context);
  const forPlain = await prepareWriteTarget(state, context);
  if ('skipped' in forHarness || 'skipped' in forPlain) throw new Error('staging was not writable');
  try {
    const sent: Statement[] = [];
    const harnessStarted = performance.now();
    const result = await checkWrites(state, recording(suite.writes![0]!, sent), forHarness.database, context);
    const harness = performance.now() - harnessStarted;
    if (!result.property.ok) throw new Error(`the writes property failed during the benchmark: ${JSON.stringify(result.property.counterexample)}`);

    const client = new pg.Client(bench.templates.connectionConfig(forPlain.database.name));
    await client.connect();
    const plainStarted = performance.now();
    for (const statement of sent) await client.query(statement.sql, statement.parameters as unknown[]).catch(() => undefined);
    const plain = performance.now() - plainStarted;
    await client.end();
    return { statements: sent.length, harness, plain };
  } finally {
    await forHarness.database.drop();
    await forPlain.database.drop();
  }
}

/** Wraps a scenario so that every statement it sends is kept for the replay. */
function recording(scenario: WriteScenario, sent: Statement[]): WriteScenario {
  return {
    ...scenario,
    begin() {
      const run = scenario.begin();
      return {
        statement(operation: Operation) {
          const statement = run.statement(operation);
          sent.push(statement);
          return statement;
        },
        predict: (operation) => run.predict(operation),
        finalProblems: (client) => run.finalProblems(client),
      };
    },
  };
}

async function benchSelfCheck(): Promise<BenchLine[]> {
  const timings: number[] = [];
  const steps: number[] = [];
  const bench = await openWorkbench(suite, { provider: new EmbeddedPostgresProvider(), migrationsDir: suite.migrationsDir, to: '0030', states: ['prod-drift'], log: () => undefined });
  try {
    for (const seed of [1, 2, 3, 4, 5]) {
      const context = writeContext(bench, { runs: 100, seed, replayCommand: () => '' });
      const started = performance.now();
      const target = await prepareWriteTarget(bench.states[0]!, context);
      if ('skipped' in target) throw new Error(target.skipped);
      const result = await checkWrites(bench.states[0]!, suite.writes![0]!, target.database, context);
      timings.push(performance.now() - started);
      steps.push(result.property.counterexample?.steps.length ?? -1);
      await target.database.drop();
    }
  } finally {
    await bench.close();
  }
  return [
    { name: 'AIN-300 self-check (--to 0030, prod-drift): shrunk counterexample', value: Math.max(...timings), unit: 'ms', note: `worst of 5 seeds, clone+migrate included: ${timings.map(Math.round).join(', ')}; steps: ${steps.join(', ')}` },
  ];
}
