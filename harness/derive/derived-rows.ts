import pg from 'pg';
import type { Migrator } from '../migrate/index.ts';
import { KEPT_KEYS, type ColumnValues } from './column-values.ts';
import type { ConstraintFact, TableFact } from './schema-facts.ts';

/** One row a derived state inserts. */
export interface RowInsert {
  table: string;
  /** The values of its key columns (SQL), joined: two rows with the same cannot both be kept. */
  key: string;
  sql: string;
  /** For people: `orders (id=1, qty=0)`. */
  summary: string;
}

/** Rows found by trying them: those the migration keeps, and those that make it fail, by the constraint it names. */
export interface RowSearch {
  valid: RowInsert[];
  violators: Map<string, RowInsert[]>;
  /** Per declared drift, the valid rows that the hand-applied SQL accepts (it was applied over them). */
  underDrift: Map<string, RowInsert[]>;
  /** How the rows were judged (for the derived suite's description). */
  how: string;
}

/** A small deterministic generator (mulberry32), so that a seed gives the same rows. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A candidate row of a table, its values drawn from the columns' values; undefined when a required column has none. */
export function candidateRow(table: TableFact, values: ReadonlyMap<string, string[]>, random: () => number, keptKeysOnly = false): RowInsert | undefined {
  const names: string[] = [];
  const chosen: string[] = [];
  for (const column of table.columns) {
    if (column.generated) continue;
    let list = values.get(column.name) ?? [];
    if (keptKeysOnly && table.key.includes(column.name)) list = list.slice(-KEPT_KEYS);
    if (list.length === 0) {
      if (column.hasDefault || !column.notNull) continue;
      return undefined;
    }
    names.push(column.name);
    chosen.push(list[Math.floor(random() * list.length)]!);
  }
  return insertOf(table, names, chosen);
}

export function insertOf(table: TableFact, names: readonly string[], chosen: readonly string[]): RowInsert {
  return {
    table: table.name,
    key: table.key.map((k) => chosen[names.indexOf(k)] ?? 'DEFAULT').join(','),
    sql: `INSERT INTO ${table.name} (${names.map((n) => pg.escapeIdentifier(n)).join(', ')}) OVERRIDING SYSTEM VALUE VALUES (${chosen.join(', ')})`,
    summary: `${table.name} (${names.map((n, i) => `${n}=${shortValue(chosen[i]!)}`).join(', ')})`,
  };
}

/** `'abc'::text` → `'abc'`, `'1'::bigint` → `1`, `NULL::text` → `NULL`. */
export function shortValue(sql: string): string {
  const literal = sql.match(/^'((?:[^']|'')*)'::(.+)$/);
  if (!literal) return sql.replace(/::.+$/, '');
  return /^(smallint|integer|bigint|numeric|real|double precision|boolean)/.test(literal[2]!) ? literal[1]! : `'${literal[1]}'`;
}

/** The constraint of the target a failed migration names: by name, or (NOT NULL) by table and column. */
function namedConstraint(error: { constraint?: string; table?: string; column?: string; sqlstate: string }, target: readonly TableFact[]): ConstraintFact | undefined {
  for (const table of target) {
    for (const constraint of table.constraints) {
      if (error.constraint && constraint.name === error.constraint) return constraint;
      if (!error.constraint && error.sqlstate === '23502' && constraint.kind === 'not null' && error.column === constraint.columns[0] && table.name.split('.').at(-1) === error.table) return constraint;
    }
  }
  return undefined;
}

/**
 * Tries candidate rows on a database at the revision before the target (on `client`, inside a
 * transaction it rolls back): a row the schema there refuses is dropped; otherwise the pending
 * migration runs over the rows kept so far plus this one, under a savepoint, and is undone. A row
 * it keeps joins the valid rows; a row that makes it fail naming a constraint of the target
 * is a violator of that constraint (at most `perConstraint` kept). Parents come before their
 * children, so foreign keys find rows to point at.
 */
export async function searchRows(options: {
  client: pg.ClientBase;
  migrator: Migrator;
  to: string;
  tables: readonly TableFact[];
  values: ReadonlyMap<string, ColumnValues>;
  target: readonly TableFact[];
  random: () => number;
  /** Run before the rows are written (constraints the rows predate, dropped) and after (put back NOT VALID). */
  around: { before: readonly string[]; after: readonly string[] };
  /** Hand-applied SQL the user declares, by state name. */
  drift?: readonly { name: string; sql: string }[];
  candidates?: number;
  perConstraint?: number;
}): Promise<RowSearch> {
  const { client, migrator, to, random } = options;
  const candidates = options.candidates ?? 60;
  const perConstraint = options.perConstraint ?? 3;
  const nest = migrator.canNestTo(to);
  const valid: RowInsert[] = [];
  const violators = new Map<string, RowInsert[]>();
  // a violator's key is kept from the valid rows found after it, so that the two sets go together
  const reserved = new Set<string>();
  const underDrift = new Map<string, RowInsert[]>();
  await client.query('BEGIN');
  try {
    for (const sql of options.around.before) await client.query(sql);
    for (const table of options.tables) {
      const values = options.values.get(table.name);
      if (!values) continue;
      for (let i = 0; i < candidates; i++) {
        const row = candidateRow(table, values, random, true);
        if (!row) break;
        if (reserved.has(`${row.table}/${row.key}`)) continue;
        await client.query('SAVEPOINT ch_row');
        try {
          await client.query(row.sql);
        } catch {
          await client.query('ROLLBACK TO SAVEPOINT ch_row');
          continue;
        }
        if (!nest) {
          valid.push(row);
          continue;
        }
        await client.query('SAVEPOINT ch_migrate');
        for (const sql of options.around.after) await client.query(sql);
        const run = await migrator.migrateTo(client, to, 'nested');
        await client.query('ROLLBACK TO SAVEPOINT ch_migrate');
        if (!run.error) {
          valid.push(row);
          continue;
        }
        await client.query('ROLLBACK TO SAVEPOINT ch_row');
        const constraint = namedConstraint(run.error.outcome, options.target);
        if (!constraint) continue;
        const list = violators.get(constraint.name) ?? [];
        if (list.length < perConstraint && !list.some((r) => r.key === row.key)) {
          violators.set(constraint.name, [...list, row]);
          reserved.add(`${row.table}/${row.key}`);
        }
      }
    }
    for (const drift of options.drift ?? []) underDrift.set(drift.name, await acceptedUnder(client, drift.sql, options.tables, valid));
  } finally {
    await client.query('ROLLBACK');
  }
  const how = nest
    ? 'each row tried with the pending migration over the rows kept before it (rolled back)'
    : `rows the schema before the target accepts (the ${migrator.runner} plan cannot run inside a transaction, so rows were not tried with the migration, and no violating rows were found)`;
  return { valid, violators, underDrift, how };
}

/** The rows, in order, that a database with `sql` applied first still accepts (tried inside the caller's transaction, then undone). */
async function acceptedUnder(client: pg.ClientBase, sql: string, tables: readonly TableFact[], rows: readonly RowInsert[]): Promise<RowInsert[]> {
  await client.query('SAVEPOINT ch_drift');
  try {
    if (tables.length) await client.query(`TRUNCATE ${tables.map((t) => t.name).join(', ')} CASCADE`);
    await client.query(sql);
    const kept: RowInsert[] = [];
    for (const row of rows) {
      await client.query('SAVEPOINT ch_drift_row');
      try {
        await client.query(row.sql);
        await client.query('RELEASE SAVEPOINT ch_drift_row');
        kept.push(row);
      } catch {
        await client.query('ROLLBACK TO SAVEPOINT ch_drift_row');
      }
    }
    return kept;
  } catch {
    return [];
  } finally {
    await client.query('ROLLBACK TO SAVEPOINT ch_drift');
  }
}
