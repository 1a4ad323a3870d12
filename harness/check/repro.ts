import { SetupError } from '../errors.ts';
import type { PostgresProvider } from '../postgres/index.ts';
import { checkConcurrentFlows, checkLiveDeploy } from './concurrency-properties.ts';
import type { PropertyGroup } from './property-result.ts';
import { reproScript } from './repro-script.ts';
import { reproSpec } from './repro-spec.ts';
import type { Suite } from './suite.ts';
import { writeContext } from './verify.ts';
import { openWorkbench, type Workbench } from './workbench.ts';
import { checkWrites, prepareWriteTarget, type WriteContext, type WriteTarget } from './write-properties.ts';

export interface ReproOptions {
  provider: PostgresProvider;
  migrationsDir: string;
  to?: string;
  state: string;
  group: Extract<PropertyGroup, 'writes' | 'concurrency'>;
  seed: number;
  path: string;
  log: (line: string) => void;
}

/**
 * Replays one failing run (seed and path as `verify` printed them) on a real server and turns
 * it into something that reproduces it anywhere: a SQL script for a writes failure, an
 * isolation-tester spec (one block per session, and the permutation) for a concurrency one.
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
      const found = options.group === 'writes' ? await writesScript(suite, bench, context, target, options) : await concurrencySpec(suite, bench, context, target, options);
      if (found) return found;
    } finally {
      await target.database.drop();
    }
    throw new SetupError(`seed ${options.seed} with path ${options.path} does not fail in state ${state.name} (group ${options.group}): nothing to reproduce (use the seed and path a failure printed)`);
  } finally {
    await bench.close();
  }
}

type Found = Extract<WriteTarget, { database: unknown }>;

async function writesScript(suite: Suite, bench: Workbench, context: WriteContext, target: Found, options: ReproOptions): Promise<string | undefined> {
  const state = bench.states[0]!;
  for (const scenario of suite.writes ?? []) {
    const result = await checkWrites(state, scenario, target.database, context);
    if (!result.property.ok && result.failingSteps) {
      return reproScript({
        suite: suite.name, state, history: target.history, migrator: bench.migrator, to: bench.to,
        seed: options.seed, path: options.path, property: scenario.name, steps: result.failingSteps,
      });
    }
  }
  return undefined;
}

async function concurrencySpec(suite: Suite, bench: Workbench, context: WriteContext, target: Found, options: ReproOptions): Promise<string | undefined> {
  const state = bench.states[0]!;
  for (const scenario of suite.concurrency ?? []) {
    let result = await checkConcurrentFlows(state, scenario, target.database, context);
    if (result.property.ok && scenario.deployStates.includes(state.name)) result = (await checkLiveDeploy(state, target.history, scenario, context)) ?? result;
    if (!result.property.ok && result.failing) {
      return reproSpec({
        suite: suite.name, state, history: target.history, migrator: bench.migrator, to: bench.to,
        seed: options.seed, path: options.path, property: result.property.name, record: result.failing,
      });
    }
  }
  return undefined;
}
