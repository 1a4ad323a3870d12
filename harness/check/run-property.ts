import fc from 'fast-check';

export interface PropertyRunOptions {
  runs: number;
  seed: number;
  /** Replays one failing run (fast-check path), skipping generation. */
  path?: string;
  /** Called after every execution of the predicate (runs and shrink attempts), for progress. */
  onRun?: (passed: boolean) => void;
}

export interface PropertyOutcome<T> {
  ok: boolean;
  runs: number;
  ms: number;
  seed: number;
  path?: string;
  /** The shrunk failing value. */
  counterexample?: T;
  /** What the predicate threw or returned for the shrunk value. */
  failure?: unknown;
  shrinks: number;
}

/**
 * Runs an asynchronous property with fast-check and returns what happened instead of
 * throwing: the seed always, and on failure the path and the shrunk counterexample.
 */
export async function runProperty<T>(
  arbitrary: fc.Arbitrary<T>,
  predicate: (value: T) => Promise<boolean | void>,
  options: PropertyRunOptions,
): Promise<PropertyOutcome<T>> {
  const started = performance.now();
  const property = fc.asyncProperty(arbitrary, async (value) => {
    let passed = false;
    try {
      passed = (await predicate(value)) !== false;
      return passed;
    } finally {
      options.onRun?.(passed);
    }
  });
  const details = await fc.check(property, {
    numRuns: options.runs,
    seed: options.seed,
    ...(options.path ? { path: options.path } : {}),
    endOnFailure: false,
  });
  const ms = Math.round(performance.now() - started);
  if (!details.failed) {
    return { ok: true, runs: details.numRuns, ms, seed: details.seed, shrinks: 0 };
  }
  return {
    ok: false,
    runs: details.numRuns,
    ms,
    seed: details.seed,
    path: details.counterexamplePath ?? undefined,
    counterexample: details.counterexample?.[0],
    failure: details.errorInstance,
    shrinks: details.numShrinks,
  };
}
