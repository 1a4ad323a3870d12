import type { CatalogSnapshot, ColumnInfo, ConstraintInfo, IndexInfo, ObjectKind } from './catalog-snapshot.ts';

/** One difference between two catalogs, e.g. a constraint whose definition differs, or a trigger only one of them has. */
export interface CatalogDifference {
  kind: ObjectKind | 'column' | 'constraint' | 'index';
  /** The object's name: `schema.table`, `schema.table.name` for what belongs to a table, a function's signature. */
  object: string;
  /** Present only in the expected catalog (`missing`), only in the actual (`unexpected`), or in both but different. */
  change: 'missing' | 'unexpected' | 'different';
  expected?: string;
  actual?: string;
}

/** Compares `actual` with `expected`, object by object, every kind; an empty list means the schemas are equal. */
export function diffCatalogs(expected: CatalogSnapshot, actual: CatalogSnapshot): CatalogDifference[] {
  const objects = (kind: string) => [expected, actual].map((snapshot) => snapshot.objects.filter((o) => o.kind === kind));
  const kinds = [...new Set([...expected.objects, ...actual.objects].map((o) => o.kind))];
  const [tablesBefore, tablesAfter] = objects('table');
  return [
    ...diffKeyed('table', tablesBefore!, tablesAfter!, (t) => t.name, (t) => t.definition),
    ...diffKeyed('column', expected.columns, actual.columns, (c) => `${c.table}.${c.name}`, describeColumn),
    ...diffKeyed('constraint', expected.constraints, actual.constraints, (c) => `${c.table}.${c.name}`, describeConstraint),
    ...diffKeyed('index', expected.indexes, actual.indexes, (i) => `${i.table}.${i.name}`, describeIndex),
    ...kinds.filter((kind) => kind !== 'table').flatMap((kind) => {
      const [before, after] = objects(kind);
      return diffKeyed(kind, before!, after!, (o) => o.name, (o) => o.definition);
    }),
  ];
}

function describeIndex(index: IndexInfo): string {
  return index.valid ? index.definition : `${index.definition} [INVALID]`;
}

export function describeConstraint(constraint: ConstraintInfo): string {
  const flags = [constraint.validated ? 'validated' : 'NOT VALID', constraint.deferrable ? (constraint.deferred ? 'deferrable initially deferred' : 'deferrable') : 'not deferrable'];
  return `${constraint.definition} [${flags.join(', ')}]`;
}

function describeColumn(column: ColumnInfo): string {
  return `${column.type}${column.notNull ? ' NOT NULL' : ''}${column.default !== null ? ` DEFAULT ${column.default}` : ''}${column.attributes ? ` ${column.attributes}` : ''}`;
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

/** A diff as lines a person reads, one per object (definitions on one line): `- missing`, `+ unexpected`, `~ different (expected → actual)`. */
export function formatCatalogDiff(differences: readonly CatalogDifference[], words: DiffWords = AGAINST_TARGET): string[] {
  return differences.map((raw) => {
    const difference = { ...raw, expected: raw.expected?.replace(/\s+/g, ' ').trim(), actual: raw.actual?.replace(/\s+/g, ' ').trim() };
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
