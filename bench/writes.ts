import pg from 'pg';
import type { HistoryEvent } from '../harness/check/model.ts';
import { openWrites } from '../harness/groups/writes/writes-group.ts';
import { runProperty } from '../harness/run/property-runner.ts';
import { queryOf } from '../harness/sessions/index.ts';
import { verify } from '../harness/verify/verify.ts';
import { benchConfig, withWorkbench, type BenchSuite } from './bench-context.ts';
import { median, type BenchLine } from './measure.ts';

/**
 * SPEC §8 throughput: write-path statements per second through the harness (generation,
 * model, execution, read-back and reset, the check) next to a plain pg client replaying
 * exactly the same statements on one connection, on an identical copy of the same state.
 * And the self-check: how long until the shrunk counterexample exists.
 */
export async function benchWrites({ suite, selfCheck }: BenchSuite, runs = 400, rounds = 5): Promise<BenchLine[]> {
  const state = suite.states.find((s) => s.expect === 'converge' && s.steps.some((step) => step.kind === 'rows'))?.name ?? suite.states[0]!.name;
  const lines = await withWorkbench(suite, benchConfig(suite, { states: [state] }), async (bench, config) => {
    const context = { suite, bench, config, log: () => undefined };
    const measureRound = async (n: number) => {
      const target = bench.states[0]!;
      const history = bench.templates.historyFor(target, config.seed);
      const [forHarness, forPlain] = [await openWrites(context, suite.writes!, target, history), await openWrites(context, suite.writes!, target, history)];
      try {
        const sent: HistoryEvent[] = [];
        const spec = { ...forHarness.spec, execute: async (ops: readonly unknown[]) => { const run = await forHarness.spec.execute(ops); sent.push(...run.events); return run; } };
        const started = performance.now();
        const { results } = await runProperty(spec, target.name, { ...config, runs: n, seed: Math.floor(Math.random() * 2 ** 31) });
        const harness = performance.now() - started;
        if (!results[0]!.ok) throw new Error(`the writes property failed during the benchmark: ${JSON.stringify(results[0]!.counterexample)}`);
        const client = new pg.Client(forPlain.target.config());
        await client.connect();
        const plainStarted = performance.now();
        for (const event of sent) await client.query(queryOf(event.step)).catch(() => undefined);
        const plain = performance.now() - plainStarted;
        await client.end();
        return { statements: sent.length, harness, plain };
      } finally {
        await forHarness.close();
        await forPlain.close();
      }
    };
    await measureRound(50); // warm-up: JIT, connections, catalog caches
    const measured = [];
    for (let round = 0; round < rounds; round++) measured.push(await measureRound(runs));
    const harnessRates = measured.map((m) => (m.statements / m.harness) * 1000);
    const plainRates = measured.map((m) => (m.statements / m.plain) * 1000);
    const ratios = measured.map((m) => m.plain / m.harness);
    return [
      { name: `harness: ~${measured[0]!.statements} write statements in ${runs} runs (state ${state})`, value: median(harnessRates), unit: 'statements/s', note: `median of ${rounds}: ${harnessRates.map(Math.round).join(', ')}` },
      { name: 'plain pg client, same statements, one connection', value: median(plainRates), unit: 'statements/s', note: `median of ${rounds}: ${plainRates.map(Math.round).join(', ')}` },
      { name: 'ratio harness / plain (target >= 0.8, issue 20)', value: median(ratios), unit: '', note: `per round: ${ratios.map((r) => r.toFixed(2)).join(', ')}` },
    ];
  });
  return selfCheck ? [...lines, await benchSelfCheck({ suite, selfCheck })] : lines;
}

/** The self-check (stop the chain before the fix): time to a shrunk counterexample, and its length. */
async function benchSelfCheck({ suite, selfCheck }: Required<BenchSuite>): Promise<BenchLine> {
  const property: number[] = [];
  const whole: number[] = [];
  const steps: number[] = [];
  for (const seed of [1, 2, 3, 4, 5]) {
    const started = performance.now();
    const report = await verify(suite, benchConfig(suite, { seed, to: selfCheck.to, states: [selfCheck.state], groups: ['writes'], runs: 100 }));
    whole.push(performance.now() - started);
    const writes = report.states[0]!.properties.find((p) => p.group === 'writes');
    property.push(writes?.ms ?? Number.NaN);
    steps.push(writes?.counterexample?.steps.length ?? -1);
  }
  return {
    name: `self-check (--to ${selfCheck.to}, ${selfCheck.state}): property run to its shrunk counterexample`,
    value: Math.max(...property),
    unit: 'ms',
    note: `worst of 5 seeds: ${property.map(Math.round).join(', ')}; steps: ${steps.join(', ')}; whole verify with server start: ${whole.map(Math.round).join(', ')} ms`,
  };
}
