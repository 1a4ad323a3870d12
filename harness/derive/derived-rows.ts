import pg from 'pg';
import { outcomeOfError, type ServerError } from '../sessions/index.ts';
import type { Migrator } from '../migrate/index.ts';
import { KEPT_KEYS, type ColumnValues } from './column-values.ts';
import type { ConstraintFact, TableFact } from './schema-facts.ts';

/** One row a derived state inserts. */
export interface RowInsert {
  table: string;
  /** Its columns and their values (SQL), as inserted. */
  names: readonly string[];
  values: readonly string[];
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

/** The values of a candidate row by column (key columns left out: they are given when the row is tried); undefined when a required column has none. */
export function candidateValues(table: TableFact, values: ReadonlyMap<string, string[]>, random: () => number, fixed?: { column: string; value: string }): Map<string, string> | undefined {
  const chosen = new Map<string, string>();
  for (const column of table.columns) {
    if (column.generated || table.key.includes(column.name)) continue;
    const list = values.get(column.name) ?? [];
    if (list.length === 0) {
      if (column.hasDefault || !column.notNull) continue;
      return undefined;
    }
    chosen.set(column.name, fixed?.column === column.name ? fixed.value : list[Math.floor(random() * list.length)]!);
  }
  return chosen;
}

/**
 * The candidates of a table, in the order they are tried: first one per value of each column
 * (so that every value a constraint speaks about is offered to the states), those giving a
 * column NULL before the others (only so many valid rows are kept: a NULL the migration must
 * backfill, or must not find, is what a NOT NULL, a CHECK or a guard turns on, and it must not
 * depend on the seed whether a state holds one), then random ones, up to `count`.
 */
export function candidates(table: TableFact, values: ReadonlyMap<string, string[]>, random: () => number, count: number): Map<string, string>[] {
  const nulls: Map<string, string>[] = [];
  const others: Map<string, string>[] = [];
  for (const column of table.columns) {
    if (column.generated || table.key.includes(column.name)) continue;
    for (const value of values.get(column.name) ?? []) {
      const row = candidateValues(table, values, random, { column: column.name, value });
      if (row) (/^NULL(::|$)/i.test(value) ? nulls : others).push(row);
    }
  }
  // a seeded shuffle of each, so that no column's values always come first
  for (const group of [nulls, others]) {
    for (let i = group.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [group[i], group[j]] = [group[j]!, group[i]!];
    }
  }
  const list = [...nulls, ...others];
  while (list.length < count) {
    const row = candidateValues(table, values, random);
    if (!row) break;
    list.push(row);
  }
  return list.slice(0, Math.max(count, 0));
}

export function insertOf(table: TableFact, names: readonly string[], chosen: readonly string[]): RowInsert {
  return {
    table: table.name,
    names: [...names],
    values: [...chosen],
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
  /**
   * A database at the target, for a plan that cannot run inside a transaction (a COMMIT of its
   * own, CREATE INDEX CONCURRENTLY): each row is then judged by writing it there instead.
   */
  targetClient?: pg.ClientBase;
  candidates?: number;
  perConstraint?: number;
}): Promise<RowSearch> {
  const { client, migrator, to, random } = options;
  const candidatesPerTable = options.candidates ?? 60;
  const perConstraint = options.perConstraint ?? 3;
  const validPerTable = KEPT_KEYS - perConstraint;
  // a plan with its own BEGIN/COMMIT (Sqitch's and Alembic's files) still judges the rows, its transaction control left out
  const nest = migrator.canJudgeNestedTo(to);
  const valid: RowInsert[] = [];
  const violators = new Map<string, RowInsert[]>();
  const underDrift = new Map<string, RowInsert[]>();
  const onTarget = nest ? undefined : options.targetClient;
  await client.query('BEGIN');
  await onTarget?.query('BEGIN');
  try {
    for (const sql of options.around.before) await client.query(sql);
    for (const table of options.tables) {
      const values = options.values.get(table.name);
      if (!values) continue;
      // the keys the states may hold, each given to one row (a violator's is kept from the valid rows)
      const keys = table.key.map((k) => (values.get(k) ?? []).slice(-KEPT_KEYS));
      let nextKey = 0;
      let validIn = 0;
      const takeKey = () => (keys.length === 0 || keys.some((list) => list.length === 0) ? undefined : nextKey < keys[0]!.length ? keys.map((list) => list[nextKey % list.length]!) : undefined);
      for (const chosen of candidates(table, values, random, candidatesPerTable)) {
        const key = takeKey();
        if (table.key.length > 0 && !key) break;
        const names = [...table.key, ...chosen.keys()];
        const row = insertOf(table, names, [...(key ?? []), ...chosen.values()]);
        await client.query('SAVEPOINT ch_row');
        try {
          await client.query(row.sql);
        } catch {
          await client.query('ROLLBACK TO SAVEPOINT ch_row');
          continue;
        }
        const error = nest ? await migrationError(client, migrator, to, options.around.after) : onTarget ? await targetError(onTarget, row, table, options.target, validIn < validPerTable) : undefined;
        if (!error) {
          // enough valid rows: the table's last keys are kept for rows that violate something
          if (validIn < validPerTable) {
            valid.push(row);
            validIn++;
            nextKey++;
          } else await client.query('ROLLBACK TO SAVEPOINT ch_row');
          continue;
        }
        await client.query('ROLLBACK TO SAVEPOINT ch_row');
        const constraint = namedConstraint(error, options.target);
        if (!constraint) continue;
        const list = violators.get(constraint.name) ?? [];
        if (list.length < perConstraint && !list.some((r) => r.summary.replace(/^[^(]*\([^,)]*/, '') === row.summary.replace(/^[^(]*\([^,)]*/, ''))) {
          violators.set(constraint.name, [...list, row]);
          nextKey++;
        }
      }
    }
    for (const drift of options.drift ?? []) underDrift.set(drift.name, await acceptedUnder(client, drift.sql, options.tables, valid));
  } finally {
    await client.query('ROLLBACK');
    await onTarget?.query('ROLLBACK');
  }
  const how = nest
    ? 'each row tried with the pending migration over the rows kept before it (rolled back)'
    : onTarget
      ? `each row written to a database at the target over the rows kept before it (the ${migrator.runner} plan cannot run inside a transaction, so the migration itself did not judge them)`
      : 'rows the schema before the target accepts (not judged by the target)';
  return { valid, violators, underDrift, how };
}

/** The pending migration run over the rows (under a savepoint, undone): its error, if it fails. */
async function migrationError(client: pg.ClientBase, migrator: Migrator, to: string, after: readonly string[]): Promise<ServerError | undefined> {
  await client.query('SAVEPOINT ch_migrate');
  for (const sql of after) await client.query(sql);
  const run = await migrator.judgeTo(client, to);
  await client.query('ROLLBACK TO SAVEPOINT ch_migrate');
  return run.error?.outcome;
}

/** The row written to a database at the target (kept there when accepted and `keep`): the error, if it is refused. */
async function targetError(client: pg.ClientBase, row: RowInsert, table: TableFact, target: readonly TableFact[], keep: boolean): Promise<ServerError | undefined> {
  const there = target.find((t) => t.name === table.name);
  if (!there) return undefined;
  const names = row.names.filter((name) => there.columns.some((c) => c.name === name && !c.generated));
  const sql = insertOf(there, names, names.map((name) => row.values[row.names.indexOf(name)]!)).sql;
  await client.query('SAVEPOINT ch_target_row');
  try {
    await client.query(sql);
    await client.query(keep ? 'RELEASE SAVEPOINT ch_target_row' : 'ROLLBACK TO SAVEPOINT ch_target_row');
    return undefined;
  } catch (error) {
    await client.query('ROLLBACK TO SAVEPOINT ch_target_row');
    return outcomeOfError(error) as ServerError;
  }
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
