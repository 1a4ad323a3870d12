/**
 * A last shrinking pass after fast-check's: fast-check shrinks arrays by dropping leading
 * chunks and by shrinking elements, so a failure it found on a long path can stay longer
 * than needed (a trailing step it never tries to drop). This removes one element at a time,
 * from the end, and keeps every removal after which the case still fails, until no single
 * removal does. Deterministic, so a replay of the same seed and path minimises the same way.
 */
export async function removeUnneeded<T>(items: readonly T[], stillFails: (candidate: readonly T[]) => Promise<boolean>, budget = 200): Promise<T[]> {
  let current = [...items];
  let attempts = 0;
  for (let changed = true; changed && attempts < budget; ) {
    changed = false;
    for (let i = current.length - 1; i >= 0 && attempts < budget; i--) {
      if (current.length <= 1) return current;
      const candidate = [...current.slice(0, i), ...current.slice(i + 1)];
      attempts++;
      if (await stillFails(candidate)) {
        current = candidate;
        changed = true;
      }
    }
  }
  return current;
}
