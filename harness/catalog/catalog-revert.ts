import pg from 'pg';
import { diffCatalogs } from './catalog-diff.ts';
import type { CatalogSnapshot, ConstraintInfo, IndexInfo } from './catalog-snapshot.ts';

/** The statements that take a schema back to an earlier one: what to drop first, what to add back last. */
export interface CatalogRevert {
  drop: string[];
  add: string[];
}

/**
 * How to undo what a constraint migration did to a schema: constraints and indexes it added,
 * dropped or changed are dropped and added back as PostgreSQL printed them before
 * (`pg_get_constraintdef`, `pg_get_indexdef`, NOT VALID and deferrability included). Anything
 * else (a column, a table) is not undone: `undefined`, and the caller makes a fresh copy.
 * Foreign keys are dropped first and added last, since they lean on the keys they reference.
 */
export function catalogRevert(now: CatalogSnapshot, before: CatalogSnapshot): CatalogRevert | undefined {
  const differences = diffCatalogs(before, now);
  // only constraints and indexes are put back; anything else (a column, a trigger, a function…) wants a fresh copy
  if (differences.some((d) => d.kind !== 'constraint' && d.kind !== 'index')) return undefined;
  const constraintNames = new Set([...now.constraints, ...before.constraints].map((c) => `${c.table}.${c.name}`));
  const changed = (kind: 'constraint' | 'index') => new Set(differences.filter((d) => d.kind === kind).map((d) => d.object));
  const constraints = changed('constraint');
  // an index that backs a constraint comes and goes with its constraint
  const indexes = new Set([...changed('index')].filter((object) => !constraintNames.has(object)));
  const key = (item: { table: string; name: string }) => `${item.table}.${item.name}`;
  const foreignLast = (a: ConstraintInfo, b: ConstraintInfo) => Number(a.definition.startsWith('FOREIGN KEY')) - Number(b.definition.startsWith('FOREIGN KEY'));
  const dropConstraints = now.constraints.filter((c) => constraints.has(key(c))).sort((a, b) => -foreignLast(a, b));
  const addConstraints = before.constraints.filter((c) => constraints.has(key(c))).sort(foreignLast);
  return {
    drop: [
      ...dropConstraints.map((c) => `ALTER TABLE ${c.table} DROP CONSTRAINT ${pg.escapeIdentifier(c.name)}`),
      ...now.indexes.filter((i) => indexes.has(key(i))).map((i) => `DROP INDEX ${qualifiedIndex(i)}`),
    ],
    add: [
      ...before.indexes.filter((i) => indexes.has(key(i))).map((i) => i.definition),
      ...addConstraints.map((c) => `ALTER TABLE ${c.table} ADD CONSTRAINT ${pg.escapeIdentifier(c.name)} ${c.definition}`),
    ],
  };
}

function qualifiedIndex(index: IndexInfo): string {
  const schema = index.table.slice(0, index.table.lastIndexOf('.'));
  return `${schema}.${pg.escapeIdentifier(index.name)}`;
}
