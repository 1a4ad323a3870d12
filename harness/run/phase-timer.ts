/**
 * Where a run's time goes, for `npm run bench`: the phases of the migration group, the live
 * deploy and the write path add their wall time here while `measurePhases` is on (off, `timed`
 * only calls through). One property at a time (`--workers 1`) gives a split that adds up.
 */
let totals: Map<string, number> | undefined;

export async function timed<T>(phase: string, work: () => Promise<T>): Promise<T> {
  if (!totals) return work();
  const started = performance.now();
  try {
    return await work();
  } finally {
    totals.set(phase, (totals.get(phase) ?? 0) + performance.now() - started);
  }
}

/** Adds time measured elsewhere to a phase (while measuring). */
export function addPhase(phase: string, ms: number): void {
  if (totals) totals.set(phase, (totals.get(phase) ?? 0) + ms);
}

/** Runs `work` with phase timing on; returns the milliseconds spent in each phase, in the order first seen. */
export async function measurePhases<T>(work: () => Promise<T>): Promise<{ result: T; phases: Map<string, number> }> {
  const mine = new Map<string, number>();
  totals = mine;
  try {
    return { result: await work(), phases: mine };
  } finally {
    totals = undefined;
  }
}
