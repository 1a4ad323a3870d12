import { SetupError } from '../errors.ts';
import type { PostgresProvider } from '../postgres/index.ts';
import { reproScript } from './repro-script.ts';
import type { Suite } from './suite.ts';
import { writeContext } from './verify.ts';
import { openWorkbench } from './workbench.ts';
import { checkWrites, prepareWriteTarget } from './write-properties.ts';

export interface ReproOptions {
  provider: PostgresProvider;
  migrationsDir: string;
  to?: string;
  state: string;
  seed: number;
  path: string;
  log: (line: string) => void;
}

/**
 * Replays one failing write run (seed and path as `verify` printed them) on a real server and
 * turns it into a self-contained SQL script.
 */
export async function reproduce(suite: Suite, options: ReproOptions): Promise<string> {
  const bench = await openWorkbench(suite, { ...options, states: [options.state] });
  try {
    const state = bench.states[0]!;
    // the path's first segment is the index of the failing run: replay just up to it
    const runs = Number(options.path.split(':')[0]) + 1;
    const context = writeContext(bench, { runs, seed: options.seed, path: options.path, replayCommand: () => '' });
    const target = await prepareWriteTarget(state, context);
    if ('skipped' in target) throw new SetupError(`state ${state.name} is not written to (${target.skipped}): nothing to reproduce`);
    try {
      for (const scenario of suite.writes ?? []) {
        const result = await checkWrites(state, scenario, target.database, context);
        if (!result.property.ok && result.failingSteps) {
          return reproScript({
            suite: suite.name, state, history: target.history, migrator: bench.migrator, to: bench.to,
            seed: options.seed, path: options.path, property: scenario.name, steps: result.failingSteps,
          });
        }
      }
    } finally {
      await target.database.drop();
    }
    throw new SetupError(`seed ${options.seed} with path ${options.path} does not fail in state ${state.name}: nothing to reproduce (use the seed and path a failure printed)`);
  } finally {
    await bench.close();
  }
}
