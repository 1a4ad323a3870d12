import { runConfig, type RunConfig } from '../harness/run/run-config.ts';
import { openWorkbench, type Workbench } from '../harness/run/workbench.ts';
import type { Suite } from '../harness/suite.ts';

/** What every figure is measured with: the suite under measurement and an embedded server of its own. */
export interface BenchSuite {
  suite: Suite<unknown>;
  /** The AIN-300 self-check of SPEC §8, for suites that have one: the revision to stop at and the state. */
  selfCheck?: { to: string; state: string };
}

export function benchConfig(suite: Suite<unknown>, overrides: Partial<RunConfig> = {}): RunConfig {
  return runConfig({ migrationsDir: suite.migrationsDir, seed: 7, workers: 1, ...overrides });
}

/** A workbench on a fresh embedded server for some of the suite's states; closed by `use`'s end. */
export async function withWorkbench<T>(suite: Suite<unknown>, config: RunConfig, use: (bench: Workbench, config: RunConfig) => Promise<T>): Promise<T> {
  const bench = await openWorkbench(suite, config);
  try {
    return await use(bench, config);
  } finally {
    await bench.close();
  }
}
