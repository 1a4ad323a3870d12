import pg from 'pg';
import { tableMatches, type CatalogSnapshot } from '../../catalog/index.ts';
import type { StepOutcome } from '../../sessions/index.ts';

type ServerError = Extract<StepOutcome, { kind: 'error' }>;

/**
 * How many existing rows stand in the way of what a failed migration tried to add, counted
 * from the definition the target gives the object (PostgreSQL's error only says "violated by
 * some row"): for CHECK, the rows its predicate rejects; for UNIQUE (or a unique index, or a
 * primary key), the rows beyond the first of each duplicated key; for FOREIGN KEY, the rows
 * whose reference matches nothing; for NOT NULL, the rows holding NULL.
 */
export async function countViolations(client: pg.ClientBase, error: ServerError, reference: CatalogSnapshot): Promise<number | undefined> {
  const sql = violationQuery(error, reference);
  if (!sql) return undefined;
  // the caller may hold a transaction open: a failing count must not abort it
  const guarded = client.getTransactionStatus() !== 'I';
  if (guarded) await client.query('SAVEPOINT ch_count');
  try {
    const count = Number((await client.query<{ n: string }>(sql)).rows[0]!.n);
    if (guarded) await client.query('RELEASE SAVEPOINT ch_count');
    return count;
  } catch {
    if (guarded) await client.query('ROLLBACK TO SAVEPOINT ch_count; RELEASE SAVEPOINT ch_count').catch(() => undefined);
    return undefined;
  }
}

function violationQuery(error: ServerError, reference: CatalogSnapshot): string | undefined {
  const { sqlstate, constraint, table, column } = error;
  if (!table) return undefined;
  if (sqlstate === '23502' && column) return `SELECT count(*) AS n FROM ${qualified(table, reference)} WHERE ${pg.escapeIdentifier(column)} IS NULL`;
  if (!constraint) return undefined;
  const found = reference.constraints.find((c) => c.name === constraint && tableMatches(c.table, table));
  const definition = found?.definition ?? reference.indexes.find((i) => i.name === constraint && tableMatches(i.table, table))?.definition;
  const target = found?.table ?? qualified(table, reference);
  if (!definition) return undefined;
  switch (sqlstate) {
    case '23514': {
      const check = /^CHECK \((.*)\)( NOT VALID)?$/s.exec(definition);
      return check ? `SELECT count(*) AS n FROM ${target} WHERE NOT (${check[1]})` : undefined;
    }
    case '23505': {
      const columns = /(?:UNIQUE|PRIMARY KEY|USING \w+) \(([^()]*)\)/.exec(definition)?.[1];
      if (!columns) return undefined;
      const notNull = columns.split(',').map((c) => `${c.trim()} IS NOT NULL`).join(' AND ');
      return `SELECT coalesce(sum(n - 1), 0) AS n FROM (SELECT count(*) AS n FROM ${target} WHERE ${notNull} GROUP BY ${columns} HAVING count(*) > 1) AS duplicates`;
    }
    case '23503': {
      const fk = /^FOREIGN KEY \(([^()]*)\) REFERENCES ([^(]+)\(([^()]*)\)/.exec(definition);
      if (!fk) return undefined;
      const [from, to] = [fk[1]!.split(',').map((c) => c.trim()), fk[3]!.split(',').map((c) => c.trim())];
      const present = from.map((c) => `x.${c} IS NOT NULL`).join(' AND ');
      const match = from.map((c, i) => `r.${to[i]} = x.${c}`).join(' AND ');
      return `SELECT count(*) AS n FROM ${target} AS x WHERE ${present} AND NOT EXISTS (SELECT 1 FROM ${fk[2]!.trim()} AS r WHERE ${match})`;
    }
    default:
      return undefined;
  }
}

function qualified(table: string, reference: CatalogSnapshot): string {
  return reference.tables.find((t) => tableMatches(t, table)) ?? pg.escapeIdentifier(table);
}
