import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchLine } from './measure.ts';
import { median } from './measure.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(ROOT, 'bin/constraint-harness.js');
const RUNS = Number(process.env.BENCH_DERIVED_RUNS ?? 100);
const CHAINS: { chain: string; runner?: string }[] = [
  { chain: 'unique-over-duplicates' },
  { chain: 'fk-not-valid-then-validate' },
  { chain: 'not-null-after-backfill', runner: 'psql' },
  { chain: 'check-two-timestamps' },
];

/**
 * `--suite auto` as a user runs it (issue 17): the command line, embedded server included, at
 * RUNS runs per property on each fixture chain (target < 20 s each), and `init` (target < 2 s).
 */
export async function benchDerived(): Promise<BenchLine[]> {
  const lines: BenchLine[] = [];
  for (const { chain, runner } of CHAINS) {
    const started = performance.now();
    const run = spawnSync(process.execPath, ['--liftoff-only', BIN, 'verify', '--suite', 'auto', '--migrations', path.join(ROOT, 'test/fixtures/chains', chain, 'correct'), '--runs', String(RUNS), '--seed', '1', ...(runner ? ['--runner', runner] : [])], { encoding: 'utf8' });
    const seconds = (performance.now() - started) / 1000;
    const states = run.stderr.match(/derived states \((\d+)\)/)?.[1];
    lines.push({ name: `verify --suite auto --runs ${RUNS}: ${chain}`, value: seconds, unit: 's', note: `${run.status === 0 ? 'PASSED' : `exit ${run.status}`}, ${states ?? '?'} states; target < 20 s` });
  }
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ch-init-'));
    const started = performance.now();
    execFileSync(process.execPath, ['--liftoff-only', BIN, 'init', '--migrations', path.join(ROOT, 'test/fixtures/chains/check-two-timestamps/correct'), '--out', path.join(dir, 'constraint-harness.config.ts')], { stdio: 'ignore' });
    times.push(performance.now() - started);
    rmSync(dir, { recursive: true, force: true });
  }
  lines.push({ name: 'init --migrations (check-two-timestamps)', value: median(times) / 1000, unit: 's', note: 'median of 5, embedded server included; target < 2 s' });
  return lines;
}
