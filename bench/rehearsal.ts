import os from 'node:os';
import { deployUnderLoad } from '../harness/rehearsal/deploy-under-load.ts';
import { chainDeployment } from '../harness/rehearsal/retrying-deploy.ts';
import { rehearse } from '../harness/rehearsal/rehearsal.ts';
import { ScaledStates } from '../harness/states/scaled-states.ts';
import { runConfig } from '../harness/run/run-config.ts';
import { benchConfig, withWorkbench, type BenchSuite } from './bench-context.ts';
import { median, type BenchLine } from './measure.ts';

const ROWS = Number(process.env.BENCH_REHEARSAL_ROWS ?? 1_000_000);

/**
 * The deploy rehearsal's figures (issue 12): how fast a state is built at scale (one size,
 * straight from its template, in rows/s), how well the hold at the largest size is predicted
 * from the two smaller ones, and what the activity monitor (pg_stat_activity,
 * pg_blocking_pids and pg_locks sampled every 10 ms) adds to the writers' own latency: the
 * same writers, alone, with and without it, in alternation.
 */
export async function benchRehearsal({ suite }: BenchSuite): Promise<BenchLine[]> {
  const stateName = suite.concurrency?.deployStates[0] ?? suite.states.find((s) => s.expect === 'converge')!.name;
  return withWorkbench(suite, benchConfig(suite, { states: [stateName] }), async (bench, config) => {
    const state = bench.states[0]!;
    const lines: BenchLine[] = [];
    const workers = Math.max(2, os.availableParallelism?.() ?? os.cpus().length);
    const scaled = await ScaledStates.build(bench.templates, state, [ROWS], workers, () => undefined);
    const [timing] = scaled.timings;
    lines.push({ name: `${state.name} built at ${ROWS} rows (INSERT … SELECT generate_series, ${workers} connections, VACUUM ANALYZE)`, value: timing!.ms / 1000, unit: 's', note: `${Math.round((ROWS / timing!.ms) * 1000)} rows/s; target < 15 s for 1,000,000` });
    try {
      lines.push(...(await overhead(scaled, bench, suite)));
    } finally {
      await scaled.close();
    }
    const report = await rehearse({ suite, bench, config: runConfig({ ...config, rehearsal: { rows: ROWS, writers: 4, rate: 20, beforeMs: 500, afterMs: 500, retries: 10 } }), log: () => undefined });
    const check = report.projection?.check;
    if (check) {
      lines.push({ name: `projection check: hold at ${check.rows} rows from the two smaller sizes`, value: check.error * 100, unit: '%', note: `${check.projectedMs} ms projected, ${check.measuredMs} ms measured; target <= 25%` });
    }
    lines.push({ name: `rehearse --rows ${ROWS} (3 sizes built, ledgers, writers under load)`, value: report.ms / 1000, unit: 's' });
    return lines;
  });
}

/** Writers alone on a copy of the state, with and without the monitor, alternating; their own latency (send to result). */
async function overhead(scaled: ScaledStates, bench: Parameters<typeof rehearse>[0]['bench'], suite: BenchSuite['suite']): Promise<BenchLine[]> {
  const copy = await scaled.copy(ROWS, 'overhead');
  try {
    const config = bench.templates.connectionConfig(copy.database);
    const latencies = { with: [] as number[], without: [] as number[] };
    // pairs of runs with the same flows (same seed), the monitor off then on, then on then off
    for (let round = 0; round < 8; round++) {
      const monitor = round % 4 === 1 || round % 4 === 2;
      const run = await deployUnderLoad(suite, chainDeployment(bench.migrator, bench.to), config, { writers: 4, rate: 20, beforeMs: 3000, afterMs: 0, readerTables: [], retries: 0, seed: Math.floor(round / 2), monitor, deploy: false });
      latencies[monitor ? 'with' : 'without'].push(...run.timings.map((t) => t.end - t.start));
    }
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    const added = (median(latencies.with) / median(latencies.without) - 1) * 100;
    return [
      { name: 'writer latency without the monitor (median, send to result)', value: median(latencies.without) * 1000, unit: 'µs', note: `mean ${Math.round(mean(latencies.without) * 1000)} µs, ${latencies.without.length} statements` },
      { name: 'writer latency with the monitor sampling every 10 ms', value: median(latencies.with) * 1000, unit: 'µs', note: `mean ${Math.round(mean(latencies.with) * 1000)} µs, ${latencies.with.length} statements` },
      { name: 'instrumentation overhead on the writers (medians)', value: added, unit: '%', note: `means: ${((mean(latencies.with) / mean(latencies.without) - 1) * 100).toFixed(1)}%; target <= 10%` },
    ];
  } finally {
    await copy.drop();
  }
}
