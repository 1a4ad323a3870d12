/**
 * Items ordered so that each comes after its parents (tables after those their foreign keys
 * reference); a cycle is cut where it closes, keeping the given order there.
 */
export function parentsFirst<T>(items: readonly T[], parentsOf: (item: T) => readonly T[]): T[] {
  const ordered: T[] = [];
  const visiting = new Set<T>();
  const visit = (item: T) => {
    if (visiting.has(item)) return;
    visiting.add(item);
    for (const parent of parentsOf(item)) visit(parent);
    ordered.push(item);
  };
  items.forEach(visit);
  return ordered;
}
