import pg from 'pg';
import { type CatalogSnapshot } from './catalog-snapshot.ts';
import { tableMatches } from './content-fingerprint.ts';

/** What kind of rule a violation breaks. */
export type ViolationKind = 'check' | 'unique' | 'foreign key' | 'not null';

/**
 * The rows that stand in the way of a constraint, as SQL any session can run: on the harness's
 * copy, or pasted into psql on the database the rows came from. `rows` selects the violating
 * rows themselves (for UNIQUE: every row of a duplicated key); `count` counts what PostgreSQL
 * would refuse (for UNIQUE: the rows beyond the first of each key).
 */
export interface ViolatingRows {
  kind: ViolationKind;
  table: string;
  /** The constraint's name, or the column's for NOT NULL. */
  name: string;
  /** `FROM … WHERE …` of the violating rows, the table aliased `x`. */
  from: string;
  count: string;
  /** Every violating row's key, for a person to paste: `SELECT <key> FROM … ORDER BY <key>`. */
  selectAll: string;
  /** For UNIQUE: the duplicate groups, each key with how many rows share it. */
  groups?: string;
}

/** A constraint's rows, from its definition as `pg_get_constraintdef` (or `pg_get_indexdef`) prints it. */
export function violatingRows(table: string, name: string, definition: string, catalog: CatalogSnapshot): ViolatingRows | undefined {
  const key = keyColumns(table, catalog);
  const make = (kind: ViolationKind, where: string, count?: string, groups?: string): ViolatingRows => {
    const from = `FROM ${table} AS x WHERE ${where}`;
    return { kind, table, name, from, count: count ?? `SELECT count(*) AS n ${from}`, selectAll: `SELECT ${key.map((k) => `x.${k}`).join(', ')} ${from} ORDER BY ${key.map((k) => `x.${k}`).join(', ')};`, ...(groups ? { groups } : {}) };
  };
  const check = /^CHECK \((.*)\)( NOT VALID)?$/s.exec(definition);
  if (check) return make('check', `NOT (${check[1]})`);
  const unique = /(?:UNIQUE|PRIMARY KEY|USING \w+) (?:NULLS NOT DISTINCT )?\(([^()]*)\)/.exec(definition);
  if (unique && !/^FOREIGN KEY/.test(definition)) {
    const columns = unique[1]!.split(',').map((c) => c.trim());
    const nullsDistinct = !/NULLS NOT DISTINCT/.test(definition) || /PRIMARY KEY/.test(definition);
    const present = nullsDistinct ? `${columns.map((c) => `${c} IS NOT NULL`).join(' AND ')} AND ` : '';
    const cols = columns.join(', ');
    const dupes = `SELECT ${cols} FROM ${table} WHERE ${present}TRUE GROUP BY ${cols} HAVING count(*) > 1`;
    const where = `(${columns.map((c) => `x.${c}`).join(', ')}) IN (${dupes})`;
    const count = `SELECT coalesce(sum(n - 1), 0) AS n FROM (SELECT count(*) AS n FROM ${table} WHERE ${present}TRUE GROUP BY ${cols} HAVING count(*) > 1) AS duplicates`;
    const groups = `SELECT ${cols}, count(*) AS rows FROM ${table} WHERE ${present}TRUE GROUP BY ${cols} HAVING count(*) > 1 ORDER BY count(*) DESC, ${cols}`;
    return make('unique', where, count, groups);
  }
  const fk = /^FOREIGN KEY \(([^()]*)\) REFERENCES ([^(]+)\(([^()]*)\)/.exec(definition);
  if (fk) {
    const [from, to] = [fk[1]!.split(',').map((c) => c.trim()), fk[3]!.split(',').map((c) => c.trim())];
    const present = from.map((c) => `x.${c} IS NOT NULL`).join(' AND ');
    const match = from.map((c, i) => `r.${to[i]} = x.${c}`).join(' AND ');
    return make('foreign key', `${present} AND NOT EXISTS (SELECT 1 FROM ${fk[2]!.trim()} AS r WHERE ${match})`);
  }
  const notNull = /^NOT NULL (.+?)( NOT VALID)?$/.exec(definition);
  if (notNull) return notNullRows(table, notNull[1]!, catalog);
  return undefined;
}

/** The rows holding NULL in a column a NOT NULL is being set on. */
export function notNullRows(table: string, column: string, catalog: CatalogSnapshot): ViolatingRows {
  const key = keyColumns(table, catalog);
  const from = `FROM ${table} AS x WHERE x.${column} IS NULL`;
  return { kind: 'not null', table, name: column, from, count: `SELECT count(*) AS n ${from}`, selectAll: `SELECT ${key.map((k) => `x.${k}`).join(', ')} ${from} ORDER BY ${key.map((k) => `x.${k}`).join(', ')};` };
}

/** The columns that name a row of `table`: its primary key, else its first unique key, else `ctid`. */
export function keyColumns(table: string, catalog: CatalogSnapshot): string[] {
  const own = catalog.constraints.filter((c) => c.table === table);
  const definition = own.find((c) => c.definition.startsWith('PRIMARY KEY'))?.definition ?? own.find((c) => c.definition.startsWith('UNIQUE ('))?.definition;
  const columns = definition ? /\(([^()]*)\)/.exec(definition)?.[1] : undefined;
  return columns ? columns.split(',').map((c) => c.trim()) : ['ctid'];
}

/** The catalog's name for a table an error names (`t` → `public.t`). */
export function qualifiedTable(table: string, catalog: CatalogSnapshot): string {
  return catalog.tables.find((t) => tableMatches(t, table)) ?? pg.escapeIdentifier(table);
}

/** Runs `sql` under a savepoint when a transaction is open, so that a failing query does not abort it; undefined when it fails. */
export async function guardedQuery<T extends pg.QueryResultRow>(client: pg.ClientBase, sql: string): Promise<T[] | undefined> {
  const guarded = client.getTransactionStatus() !== 'I';
  if (guarded) await client.query('SAVEPOINT ch_count');
  try {
    const rows = (await client.query<T>(sql)).rows;
    if (guarded) await client.query('RELEASE SAVEPOINT ch_count');
    return rows;
  } catch {
    if (guarded) await client.query('ROLLBACK TO SAVEPOINT ch_count; RELEASE SAVEPOINT ch_count').catch(() => undefined);
    return undefined;
  }
}

/** How many rows violate, and the first `limit` keys (each as text, a composite key as `(a, b)`). */
export async function findViolations(client: pg.ClientBase, rows: ViolatingRows, catalog: CatalogSnapshot, limit = 20): Promise<{ count: number; keys: string[] } | undefined> {
  const counted = await guardedQuery<{ n: string }>(client, rows.count);
  if (!counted) return undefined;
  const key = keyColumns(rows.table, catalog);
  const keyText = key.length === 1 ? `x.${key[0]}::text` : `concat('(', concat_ws(', ', ${key.map((k) => `x.${k}::text`).join(', ')}), ')')`;
  const listed = await guardedQuery<{ k: string }>(client, `SELECT ${keyText} AS k ${rows.from} ORDER BY ${key.map((k) => `x.${k}`).join(', ')} LIMIT ${limit}`);
  return { count: Number(counted[0]!.n), keys: (listed ?? []).map((row) => row.k) };
}

/** Every constraint of the user's tables, as PostgreSQL prints it (what a model reads of a state it did not write). */
export async function readConstraintFacts(client: pg.ClientBase): Promise<{ table: string; name: string; definition: string }[]> {
  const { rows } = await client.query<{ table: string; name: string; definition: string }>(
    `SELECT k.conrelid::regclass::text AS table, k.conname AS name, pg_get_constraintdef(k.oid) AS definition
       FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace
      WHERE k.conrelid <> 0 AND k.contype <> 'n' AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`,
  );
  return rows;
}
