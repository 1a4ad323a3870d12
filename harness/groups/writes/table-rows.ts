import { createHash } from 'node:crypto';
import pg from 'pg';
import { World, writeId } from '../../check/world.ts';
import type { Row } from '../../check/world.ts';
import type { TableSpec } from '../../suite.ts';

/** The type of a table's key (its first key column), as fresh keys are made for it. */
export type KeyType = { kind: 'uuid' } | { kind: 'integer'; /** The largest key the state holds. */ max: bigint } | { kind: 'text' };

/** The rows a state started with: as the model sees them, and whole (to put them back after a run). */
export interface BaseRows {
  world: World;
  /** Each table's key type, from the catalog. */
  keyTypes: ReadonlyMap<string, KeyType>;
  /** Per table: the rows as `to_jsonb` prints them, and the columns a reset writes. */
  full: Map<string, { rows: string; columns: string[] }>;
  /** Every column of each row, as `to_jsonb(row)::text`, by `writeId` (to see a change to a column the model does not read). */
  images: ReadonlyMap<string, string>;
}

/** The rows PostgreSQL holds after a run: as the model sees them, and whole. */
export interface ReadBack {
  world: World;
  images: ReadonlyMap<string, string>;
}

/** A table's key columns (one, or several for a composite key). */
export function keyColumns(table: TableSpec): readonly string[] {
  return typeof table.key === 'string' ? [table.key] : table.key;
}

/** A row's key as text (`(x.id)::text`; a composite key as its row text, `(1,2)`). */
export function keyText(table: TableSpec, alias: string): string {
  const columns = keyColumns(table);
  return columns.length === 1 ? `(${alias}.${columns[0]})::text` : `ROW(${columns.map((c) => `${alias}.${c}`).join(', ')})::text`;
}

/** Two rows have the same key. */
function sameKey(table: TableSpec, a: string, b: string): string {
  return keyColumns(table).map((c) => `${a}.${c} = ${b}.${c}`).join(' AND ');
}

const projection = (table: TableSpec) =>
  `json_build_object(${Object.entries(table.columns).map(([name, sql]) => `${pg.escapeLiteral(name)}, ${sql}`).join(', ')})`;

/** Reads every row of the suite's tables (a state's history is small). */
export async function readBaseRows(client: pg.ClientBase, tables: readonly TableSpec[]): Promise<BaseRows> {
  const writes = [];
  const full = new Map<string, { rows: string; columns: string[] }>();
  const images = new Map<string, string>();
  for (const table of tables) {
    const result = await client.query<{ k: string; r: Row; f: unknown; i: string }>(`SELECT ${keyText(table, 'x')} AS k, ${projection(table)} AS r, to_jsonb(x) AS f, to_jsonb(x)::text AS i FROM ${table.name} AS x ORDER BY 1`);
    for (const row of result.rows) {
      writes.push({ table: table.name, key: row.k, row: row.r });
      images.set(writeId({ table: table.name, key: row.k }), row.i);
    }
    if (result.rows.length === 0) continue;
    const columns = await client.query<{ name: string }>(
      `SELECT attname AS name FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '' AND attidentity <> 'a' ORDER BY attnum`,
      [table.name],
    );
    full.set(table.name, { rows: JSON.stringify(result.rows.map((row) => row.f)), columns: columns.rows.map((c) => c.name) });
  }
  return { world: World.of(writes), full, images, keyTypes: await readKeyTypes(client, tables) };
}

/**
 * One statement that reads back every row of the suite's tables (`scope: 'all'`: the run's,
 * the state's, and any a trigger, a cascade or a bug wrote under a key the run never handed
 * out), or only the rows of the given keys (`'keys'`: the rehearsal's flows on a table at
 * scale), as the model sees them and whole; with `reset`, it leaves the tables as the run found
 * them: the run's own rows deleted, the starting rows put back as they were. The reading sees
 * the run's final state (a data-modifying CTE's changes are invisible to its own statement);
 * foreign keys are checked at the end of the statement, when every table is back. So each run
 * starts from the same rows, whatever the suite's constraints (a UNIQUE on an e-mail column
 * would otherwise meet the e-mails of earlier runs).
 */
export function readBackStatement(tables: readonly TableSpec[], base: BaseRows | undefined, reset: boolean, scope: 'all' | 'keys' = 'all'): { text: string; values: (keys: string[]) => unknown[] } {
  // the statement's parameters, in order: the run's keys (scope 'keys'), the state's keys (reset), each table's starting rows
  const slots: ((keys: string[]) => unknown)[] = [];
  const parameter = (value: (keys: string[]) => unknown, type: string) => `$${slots.push(value)}::${type}`;
  const ctes: string[] = [];
  if (reset) {
    // every row the state did not start with goes: the run's, and any a trigger or a bug put there under another key
    // per table: integer keys of two tables (customers 1, 2; orders 1, 2) are the same texts
    tables.forEach((table, i) => {
      const kept = parameter(() => baseKeys(base, table.name), 'text[]');
      ctes.push(`forget_${i} AS (DELETE FROM ${table.name} AS x WHERE NOT ${keyText(table, 'x')} = ANY(${kept}) RETURNING 1)`);
    });
  }
  if (reset && base) {
    tables.forEach((table, n) => {
      const full = base.full.get(table.name);
      if (!full) return;
      const rows = parameter(() => full.rows, 'jsonb');
      const columns = full.columns.map((c) => pg.escapeIdentifier(c));
      ctes.push(
        `reset_${n} AS (UPDATE ${table.name} AS x SET ${columns.map((c) => `${c} = p.${c}`).join(', ')} FROM jsonb_populate_recordset(NULL::${table.name}, ${rows}) AS p WHERE ${sameKey(table, 'x', 'p')} AND to_jsonb(x) IS DISTINCT FROM to_jsonb(p) RETURNING 1)`,
        `restore_${n} AS (INSERT INTO ${table.name} (${columns.join(', ')}) SELECT ${columns.map((c) => `p.${c}`).join(', ')} FROM jsonb_populate_recordset(NULL::${table.name}, ${rows}) AS p WHERE NOT EXISTS (SELECT 1 FROM ${table.name} AS x WHERE ${sameKey(table, 'x', 'p')}) RETURNING 1)`,
      );
    });
  }
  const wanted = scope === 'keys' ? parameter((keys) => keys, 'text[]') : undefined;
  const selects = tables.map((table) => `SELECT ${pg.escapeLiteral(table.name)} AS t, ${keyText(table, 'x')} AS k, ${projection(table)} AS r, to_jsonb(x)::text AS i FROM ${table.name} AS x${wanted ? ` WHERE ${keyText(table, 'x')} = ANY(${wanted})` : ''}`);
  const text = `${ctes.length ? `WITH ${ctes.join(',\n')}\n` : ''}${selects.join('\nUNION ALL\n')}`;
  return { text, values: (keys) => slots.map((slot) => slot(keys)) };
}

function baseKeys(base: BaseRows | undefined, table: string): string[] {
  return base ? base.world.rows(table).map(([key]) => key) : [];
}

/** The rows a read-back statement returned, as a world, and whole. */
export function rowsToWorld(rows: readonly { t: string; k: string; r: Row; i: string }[]): ReadBack {
  return { world: World.of(rows.map((row) => ({ table: row.t, key: row.k, row: row.r }))), images: new Map(rows.map((row) => [writeId({ table: row.t, key: row.k }), row.i])) };
}

const INTEGERS = new Set(['smallint', 'integer', 'bigint']);

/** Each table's key type and, for integers, the largest key it holds (fresh keys start above it). */
async function readKeyTypes(client: pg.ClientBase, tables: readonly TableSpec[]): Promise<Map<string, KeyType>> {
  const types = new Map<string, KeyType>();
  for (const table of tables) {
    const [column] = keyColumns(table);
    const found = await client.query<{ type: string | null }>(`SELECT format_type(atttypid, NULL) AS type FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2 AND NOT attisdropped`, [table.name, column!.replace(/^"|"$/g, '')]);
    const type = found.rows[0]?.type ?? 'uuid';
    if (INTEGERS.has(type)) {
      const max = await client.query<{ max: string | null }>(`SELECT max(${column})::text AS max FROM ${table.name}`);
      types.set(table.name, { kind: 'integer', max: BigInt(max.rows[0]?.max ?? '0') });
    } else types.set(table.name, { kind: type === 'uuid' ? 'uuid' : type === 'text' || type.startsWith('character') ? 'text' : 'uuid' });
  }
  return types;
}

/**
 * What puts a table back as the state started it, after a run whose rows were read back: the
 * rows it did not start with (the run's, a trigger's) deleted, starting rows that changed
 * written back, starting rows that went inserted again (every column, as `to_jsonb` printed
 * them). Undefined when the run left every table as it found it.
 */
export function resetStatement(tables: readonly TableSpec[], base: BaseRows, after: ReadBack): { name: string; text: string; values: unknown[] } | undefined {
  const values: unknown[] = [];
  const ctes: string[] = [];
  tables.forEach((table, n) => {
    const extra: unknown[] = [];
    const present = new Set<string>();
    for (const [key] of after.world.rows(table.name)) {
      present.add(key);
      if (!base.world.get(table.name, key)) extra.push(JSON.parse(after.images.get(writeId({ table: table.name, key }))!));
    }
    const changed: unknown[] = [];
    const missing: unknown[] = [];
    for (const [key] of base.world.rows(table.name)) {
      const id = writeId({ table: table.name, key });
      if (!present.has(key)) missing.push(JSON.parse(base.images.get(id)!));
      else if (after.images.get(id) !== base.images.get(id)) changed.push(JSON.parse(base.images.get(id)!));
    }
    const columns = (base.full.get(table.name)?.columns ?? []).map((c) => pg.escapeIdentifier(c));
    const rows = (list: unknown[]) => `jsonb_populate_recordset(NULL::${table.name}, $${values.push(JSON.stringify(list))}::jsonb)`;
    if (extra.length) ctes.push(`forget_${n} AS (DELETE FROM ${table.name} AS x USING ${rows(extra)} AS p WHERE ${sameKey(table, 'x', 'p')} RETURNING 1)`);
    if (changed.length) ctes.push(`reset_${n} AS (UPDATE ${table.name} AS x SET ${columns.map((c) => `${c} = p.${c}`).join(', ')} FROM ${rows(changed)} AS p WHERE ${sameKey(table, 'x', 'p')} RETURNING 1)`);
    if (missing.length) ctes.push(`restore_${n} AS (INSERT INTO ${table.name} (${columns.join(', ')}) SELECT ${columns.map((c) => `p.${c}`).join(', ')} FROM ${rows(missing)} AS p RETURNING 1)`);
  });
  if (!ctes.length) return undefined;
  // one statement: foreign keys are checked at its end, when every table is back; named, since
  // a state's runs need few shapes of it (which tables, which of delete/update/insert): planned once each
  const text = `WITH ${ctes.join(',\n')}\nSELECT 1`;
  return { name: `ch_reset_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`, text, values };
}
