import { findViolations, notNullRows, qualifiedTable, tableMatches, violatingRows, type CatalogSnapshot, type ViolatingRows } from '../../catalog/index.ts';
import type pg from 'pg';
import type { StepOutcome } from '../../sessions/index.ts';

type ServerError = Extract<StepOutcome, { kind: 'error' }>;

/** The rows found standing in the way of a failed migration: how many, the first keys, and the SELECT that lists them all. */
export interface FoundViolations {
  count: number;
  keys: string[];
  selectAll: string;
}

/**
 * The existing rows that stand in the way of what a failed migration tried to add, found from
 * the definition the target gives the object (PostgreSQL's error only says "violated by some
 * row"): for CHECK, the rows its predicate rejects; for UNIQUE (or a unique index, or a
 * primary key), the rows beyond the first of each duplicated key; for FOREIGN KEY, the rows
 * whose reference matches nothing; for NOT NULL, the rows holding NULL.
 */
export async function countViolations(client: pg.ClientBase, error: ServerError, reference: CatalogSnapshot): Promise<FoundViolations | undefined> {
  const rows = violationRows(error, reference);
  if (!rows) return undefined;
  // the caller may hold a transaction open: the queries run under a savepoint
  const found = await findViolations(client, rows, reference);
  return found && { ...found, selectAll: rows.selectAll };
}

function violationRows(error: ServerError, reference: CatalogSnapshot): ViolatingRows | undefined {
  const { sqlstate, constraint, table, column } = error;
  if (!table) return undefined;
  if (sqlstate === '23502' && column) return notNullRows(qualifiedTable(table, reference), column, reference);
  if (!constraint || !['23514', '23505', '23503'].includes(sqlstate)) return undefined;
  const found = reference.constraints.find((c) => c.name === constraint && tableMatches(c.table, table));
  const definition = found?.definition ?? reference.indexes.find((i) => i.name === constraint && tableMatches(i.table, table))?.definition;
  if (!definition) return undefined;
  return violatingRows(found?.table ?? qualifiedTable(table, reference), constraint, definition, reference);
}
