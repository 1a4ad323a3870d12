import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { verify } from '../harness/verify/verify.ts';
import { benchConfig, type BenchSuite } from './bench-context.ts';
import { median, type BenchLine } from './measure.ts';

const BIN = path.join(fileURLToPath(new URL('..', import.meta.url)), 'bin/constraint-harness.js');
const RUNS = Number(process.env.BENCH_SIGNOFF_RUNS ?? 100);

/**
 * The sign-off's speed (issue 13): `--help` from the compiled build (as `npm ci` leaves it), and
 * every group over every state at RUNS runs per property with one worker and with two, on an
 * embedded server each: the speed-up the second core gives, and the same verdict.
 */
export async function benchSignOff({ suite }: BenchSuite): Promise<BenchLine[]> {
  const help: number[] = [];
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    execFileSync(process.execPath, [BIN, '--help'], { stdio: 'ignore' });
    help.push(performance.now() - started);
  }
  const timed = async (workers: number) => {
    const started = performance.now();
    const report = await verify(suite, benchConfig(suite, { runs: RUNS, workers, provider: { provider: 'embedded' } }));
    return { ms: performance.now() - started, ok: report.ok, properties: report.states.reduce((n, s) => n + s.properties.length, 0) };
  };
  const one = await timed(1);
  const two = await timed(2);
  return [
    { name: 'constraint-harness --help (compiled build)', value: median(help), unit: 'ms', note: `median of 5; target < 300 ms` },
    { name: `verify --runs ${RUNS} --workers 1`, value: one.ms / 1000, unit: 's', note: `${one.ok ? 'PASSED' : 'FAILED'}, ${one.properties} properties` },
    { name: `verify --runs ${RUNS} --workers 2`, value: two.ms / 1000, unit: 's', note: `${two.ok ? 'PASSED' : 'FAILED'}, ${two.properties} properties` },
    { name: 'speed-up of the second worker', value: one.ms / two.ms, unit: '×' },
  ];
}
