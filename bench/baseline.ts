import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchLine } from './measure.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Issue 20's starting point: the sign-off measured at 131 s on the day the issue was written. */
const BASELINE = 'e7b51b0';
const RUNS = Number(process.env.BENCH_BASELINE_RUNS ?? 2000);
const SEED = 42;

/**
 * The release sign-off, `verify --runs 2000 --seed 42` (every group, every state), of the
 * baseline commit and of this checkout, one after the other on this machine: the baseline from
 * a temporary git worktree (its own `npm ci`), removed afterwards. The two chains differ in what
 * they check (the baseline has fewer states and properties): both counts are printed.
 */
export async function benchBaseline(): Promise<BenchLine[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ch-baseline-'));
  const tree = path.join(dir, BASELINE);
  // the embedded server runs as an unprivileged user when the bench runs as root: it must reach the worktree's binaries
  chmodSync(dir, 0o755);
  try {
    execFileSync('git', ['-C', ROOT, 'worktree', 'add', '--detach', tree, BASELINE], { stdio: 'ignore' });
    execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: tree, stdio: 'ignore' });
    const baseline = signOff(tree);
    const current = signOff(ROOT);
    return [
      { name: `verify --runs ${RUNS} --seed ${SEED} at ${BASELINE} (the issue's starting point)`, value: baseline.seconds, unit: 's', note: baseline.verdict },
      { name: `verify --runs ${RUNS} --seed ${SEED} now, right after it (target < 120 s)`, value: current.seconds, unit: 's', note: current.verdict },
    ];
  } finally {
    spawnSync('git', ['-C', ROOT, 'worktree', 'remove', '--force', tree], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
    spawnSync('git', ['-C', ROOT, 'worktree', 'prune'], { stdio: 'ignore' });
  }
}

function signOff(checkout: string): { seconds: number; verdict: string } {
  if (!existsSync(path.join(checkout, 'bin/constraint-harness.js'))) throw new Error(`no command line in ${checkout}`);
  const started = performance.now();
  const run = spawnSync(process.execPath, ['--liftoff-only', path.join(checkout, 'bin/constraint-harness.js'), 'verify', '--runs', String(RUNS), '--seed', String(SEED)], { cwd: checkout, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = (performance.now() - started) / 1000;
  const verdict = /^(PASSED|FAILED): .*$/m.exec(run.stdout)?.[0] ?? `exit ${run.status}: ${run.stderr.trim().split('\n').at(-1)}`;
  return { seconds, verdict };
}
