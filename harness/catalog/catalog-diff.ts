import type { CatalogSnapshot, ColumnInfo, ConstraintInfo, IndexInfo } from './catalog-snapshot.ts';

/** One difference between two catalogs, e.g. a constraint whose definition differs. */
export interface CatalogDifference {
  kind: 'table' | 'column' | 'constraint' | 'index';
  /** `table` or `table.name`. */
  object: string;
  /** Present only in the expected catalog (`missing`), only in the actual (`unexpected`), or in both but different. */
  change: 'missing' | 'unexpected' | 'different';
  expected?: string;
  actual?: string;
}

/** Compares `actual` with `expected`; an empty list means the catalogs are equal. */
export function diffCatalogs(expected: CatalogSnapshot, actual: CatalogSnapshot): CatalogDifference[] {
  return [
    ...diffKeyed('table', expected.tables, actual.tables, (t) => t, () => 'table'),
    ...diffKeyed('column', expected.columns, actual.columns, (c) => `${c.table}.${c.name}`, describeColumn),
    ...diffKeyed('constraint', expected.constraints, actual.constraints, (c) => `${c.table}.${c.name}`, describeConstraint),
    ...diffKeyed('index', expected.indexes, actual.indexes, (i) => `${i.table}.${i.name}`, (i: IndexInfo) => i.definition),
  ];
}

export function describeConstraint(constraint: ConstraintInfo): string {
  const flags = [constraint.validated ? 'validated' : 'NOT VALID', constraint.deferrable ? (constraint.deferred ? 'deferrable initially deferred' : 'deferrable') : 'not deferrable'];
  return `${constraint.definition} [${flags.join(', ')}]`;
}

function describeColumn(column: ColumnInfo): string {
  return `${column.type}${column.notNull ? ' NOT NULL' : ''}${column.default !== null ? ` DEFAULT ${column.default}` : ''}`;
}

/** How the two sides of a diff are called: the target and the database, or before and after a migration. */
export interface DiffWords {
  missing: string;
  unexpected: string;
  expected: string;
  actual: string;
}

export const AGAINST_TARGET: DiffWords = { missing: 'expected, absent', unexpected: 'present, not expected', expected: 'expected', actual: 'actual' };
export const BEFORE_AFTER: DiffWords = { missing: 'there before, gone after', unexpected: 'new after, not there before', expected: 'before', actual: 'after' };

/** A diff as lines a person reads: `- missing`, `+ unexpected`, `~ different (expected → actual)`. */
export function formatCatalogDiff(differences: readonly CatalogDifference[], words: DiffWords = AGAINST_TARGET): string[] {
  return differences.map((difference) => {
    switch (difference.change) {
      case 'missing':
        return `- ${difference.kind} ${difference.object}: ${difference.expected} (${words.missing})`;
      case 'unexpected':
        return `+ ${difference.kind} ${difference.object}: ${difference.actual} (${words.unexpected})`;
      case 'different':
        return `~ ${difference.kind} ${difference.object}: ${words.expected} ${difference.expected}, ${words.actual} ${difference.actual}`;
    }
  });
}

function diffKeyed<T>(
  kind: CatalogDifference['kind'],
  expected: readonly T[],
  actual: readonly T[],
  key: (item: T) => string,
  describe: (item: T) => string,
): CatalogDifference[] {
  const expectedByKey = new Map(expected.map((item) => [key(item), describe(item)]));
  const actualByKey = new Map(actual.map((item) => [key(item), describe(item)]));
  const differences: CatalogDifference[] = [];
  for (const [object, description] of expectedByKey) {
    const other = actualByKey.get(object);
    if (other === undefined) differences.push({ kind, object, change: 'missing', expected: description });
    else if (other !== description) differences.push({ kind, object, change: 'different', expected: description, actual: other });
  }
  for (const [object, description] of actualByKey) {
    if (!expectedByKey.has(object)) differences.push({ kind, object, change: 'unexpected', actual: description });
  }
  return differences;
}
