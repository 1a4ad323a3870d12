import { openWorkbench } from '../harness/run/workbench.ts';
import { benchConfig, type BenchSuite } from './bench-context.ts';
import { median, type BenchLine } from './measure.ts';

/**
 * SPEC §8: embedded PostgreSQL up and every starting-state template built (target < 3 s), and
 * what one clone of a state costs (CREATE DATABASE … TEMPLATE plus its generated rows).
 */
export async function benchStartup({ suite }: BenchSuite, rounds = 3): Promise<BenchLine[]> {
  const up: number[] = [];
  const templates: number[] = [];
  const clones: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const timings = { serverMs: 0, templatesMs: 0 };
    const bench = await openWorkbench(suite, benchConfig(suite, { provider: { provider: 'embedded' } }));
    try {
      Object.assign(timings, bench.timings);
      up.push(timings.serverMs);
      templates.push(timings.templatesMs);
      const state = bench.states.find((s) => s.steps.some((step) => step.kind === 'rows')) ?? bench.states[0]!;
      for (let i = 0; i < 10; i++) {
        const started = performance.now();
        const database = await bench.templates.clone(state, bench.templates.historyFor(state, i));
        clones.push(performance.now() - started);
        await database.drop();
      }
    } finally {
      await bench.close();
    }
  }
  const total = up.map((u, i) => u + templates[i]!);
  return [
    { name: 'embedded PostgreSQL up', value: median(up), unit: 'ms', note: `median of ${rounds}: ${up.join(', ')}` },
    { name: `${suite.states.length} state templates and the reference built`, value: median(templates), unit: 'ms', note: `median of ${rounds}: ${templates.join(', ')}` },
    { name: 'up + every template (targets: SPEC < 3000 ms, issue 13 < 1500 ms)', value: median(total), unit: 'ms', note: `runs: ${total.join(', ')}` },
    { name: 'one clone of a state with its generated history', value: median(clones), unit: 'ms', note: `median of ${clones.length}` },
  ];
}
