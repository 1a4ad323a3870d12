import { createHash } from 'node:crypto';
import pg from 'pg';
import { parentsFirst } from '../../catalog/parents-first.ts';
import { World, writeId } from '../../check/world.ts';
import type { Row } from '../../check/world.ts';
import type { TableSpec } from '../../suite.ts';
import { outcomeOfError } from '../../sessions/step-outcome.ts';

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
  /** The suite's tables, parents before the tables whose foreign keys reference them (how rows are put back). */
  parentsFirst: readonly TableSpec[];
  /** Every sequence of the database and where it stood (put back with the rows: a run's inserts advance them). */
  sequences: readonly SequenceState[];
  /** The enabled user triggers of the suite's tables: off while rows are put back (an audit trigger would write rows of its own). */
  triggers: readonly UserTrigger[];
}

/** A user trigger (not a foreign key's) and its table. */
export interface UserTrigger {
  relation: string;
  name: string;
}

/** The enabled user triggers of `tables` (foreign keys' internal triggers are not among them). */
export async function readUserTriggers(client: pg.ClientBase, tables: readonly TableSpec[]): Promise<UserTrigger[]> {
  const result = await client.query<UserTrigger>(
    `SELECT t.tgrelid::regclass::text AS relation, t.tgname AS name FROM pg_trigger t
      WHERE NOT t.tgisinternal AND t.tgenabled = 'O' AND t.tgrelid = ANY (SELECT to_regclass(name) FROM unnest($1::text[]) AS name) ORDER BY 1, 2`,
    [tables.map((table) => table.name)],
  );
  return result.rows;
}

/**
 * `statements` with `triggers` off around them (ALTER TABLE … DISABLE/ENABLE TRIGGER, by name,
 * so that a trigger a user disabled stays so; the caller runs them in one transaction): rows
 * written back as data, as a restore writes them, not as an application's writes.
 */
export function withTriggersOff<T extends pg.QueryConfig | string>(triggers: readonly UserTrigger[], statements: readonly T[]): (T | string)[] {
  if (triggers.length === 0) return [...statements];
  const toggle = (action: 'DISABLE' | 'ENABLE') => triggers.map((t) => `ALTER TABLE ${t.relation} ${action} TRIGGER ${pg.escapeIdentifier(t.name)}`);
  return [...toggle('DISABLE'), ...statements, ...toggle('ENABLE')];
}

/** A sequence and where it stands. */
export interface SequenceState {
  name: string;
  /** null: never called since its start (nextval returns `start`). */
  last: string | null;
  start: string;
}

/**
 * Every sequence of the database the harness's role can read and set, and where it stands
 * (pg_sequences: `last_value` is null until the first nextval, and for a role that cannot read
 * it: such a sequence is left out, the role's writers cannot advance it either).
 */
export async function readSequences(client: pg.ClientBase): Promise<SequenceState[]> {
  const result = await client.query<SequenceState>({
    name: 'ch_sequences_of',
    text: `SELECT format('%I.%I', schemaname, sequencename) AS name, last_value::text AS last, start_value::text AS start FROM pg_sequences
            WHERE has_sequence_privilege(format('%I.%I', schemaname, sequencename), 'SELECT, USAGE') AND has_sequence_privilege(format('%I.%I', schemaname, sequencename), 'UPDATE') ORDER BY 1`,
  });
  return result.rows.map((row) => ({ name: row.name, last: row.last, start: row.start }));
}

/** One statement that sets each sequence where it stood (those missing from the database skipped); undefined for none. */
export function sequencesReset(sequences: readonly SequenceState[]): pg.QueryConfig | undefined {
  if (sequences.length === 0) return undefined;
  return {
    name: 'ch_sequences_reset',
    text: `SELECT count(setval(to_regclass(s.name), coalesce(s.last, s.start), s.last IS NOT NULL)) FROM jsonb_to_recordset($1::jsonb) AS s(name text, last bigint, start bigint) WHERE to_regclass(s.name) IS NOT NULL`,
    values: [JSON.stringify(sequences)],
  };
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
  return { world: World.of(writes), full, images, keyTypes: await readKeyTypes(client, tables), parentsFirst: await tablesParentsFirst(client, tables), sequences: await readSequences(client), triggers: await readUserTriggers(client, tables) };
}

/**
 * One statement that reads back every row of the suite's tables (`scope: 'all'`: the run's,
 * the state's, and any a trigger, a cascade or a bug wrote under a key the run never handed
 * out), or only the rows of the given keys (`'keys'`: the rehearsal's flows on a table at
 * scale), as the model sees them and whole (`to_jsonb`). What puts the starting rows back is
 * computed from it (`resetQueries`).
 */
export function readBackStatement(tables: readonly TableSpec[], scope: 'all' | 'keys' = 'all'): { text: string; values: (keys: string[]) => unknown[] } {
  const selects = tables.map((table) => `SELECT ${pg.escapeLiteral(table.name)} AS t, ${keyText(table, 'x')} AS k, ${projection(table)} AS r, to_jsonb(x)::text AS i FROM ${table.name} AS x${scope === 'keys' ? ` WHERE ${keyText(table, 'x')} = ANY($1::text[])` : ''}`);
  return { text: selects.join('\nUNION ALL\n'), values: (keys) => (scope === 'keys' ? [keys] : []) };
}


/** Every row of the suite's tables as they are now (`readBackStatement`, prepared once per connection). */
export async function readBack(client: pg.ClientBase, tables: readonly TableSpec[]): Promise<ReadBack> {
  const statement = readBackStatement(tables);
  return rowsToWorld((await client.query({ name: 'ch_read_back_plain', text: statement.text, values: statement.values([]) })).rows);
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

/** The tables ordered so that a table comes after those its foreign keys reference, as the database's catalog says. */
export async function tablesParentsFirst(client: pg.ClientBase, tables: readonly TableSpec[]): Promise<TableSpec[]> {
  const oids = await client.query<{ name: string; oid: number }>(`SELECT name, to_regclass(name)::oid::int AS oid FROM unnest($1::text[]) AS name`, [tables.map((t) => t.name)]);
  const oidOf = new Map(oids.rows.map((row) => [row.name, row.oid]));
  const edges = await client.query<{ child: number; parent: number }>(`SELECT conrelid::int AS child, confrelid::int AS parent FROM pg_constraint WHERE contype = 'f' AND conrelid <> confrelid`);
  return parentsFirst(tables, (table) => tables.filter((t) => edges.rows.some((edge) => edge.child === oidOf.get(table.name) && edge.parent === oidOf.get(t.name))));
}

/**
 * What puts the suite's tables back as the state started them, after a run whose rows were read
 * back: the statements of one transaction (the caller sends BEGIN and COMMIT), in an order no
 * constraint objects to. First the rows the state did not start with (the run's, a trigger's)
 * are deleted, children before parents, so that a UNIQUE value or a key they took is free again;
 * then, parents first, each starting row the run changed or removed is inserted where it is
 * missing (also after a cascade of those deletes) and written back, every column as `to_jsonb`
 * printed it, where it differs. Empty when the run left every table as it found it.
 */
export function resetQueries(base: BaseRows, after: ReadBack): pg.QueryConfig[] {
  const deletes: pg.QueryConfig[] = [];
  const restores: pg.QueryConfig[] = [];
  for (const table of base.parentsFirst) {
    const { extra, back } = rowsToPutBack(table, base, after);
    const rows = `jsonb_populate_recordset(NULL::${table.name}, $1::jsonb)`;
    if (extra.length) deletes.unshift(named(`DELETE FROM ${table.name} AS x USING ${rows} AS p WHERE ${sameKey(table, 'x', 'p')}`, [JSON.stringify(extra)]));
    if (back.length) {
      const columns = (base.full.get(table.name)?.columns ?? []).map((c) => pg.escapeIdentifier(c));
      const values = [JSON.stringify(back)];
      restores.push(
        named(`INSERT INTO ${table.name} (${columns.join(', ')}) SELECT ${columns.map((c) => `p.${c}`).join(', ')} FROM ${rows} AS p WHERE NOT EXISTS (SELECT 1 FROM ${table.name} AS x WHERE ${sameKey(table, 'x', 'p')})`, values),
        named(`UPDATE ${table.name} AS x SET ${columns.map((c) => `${c} = p.${c}`).join(', ')} FROM ${rows} AS p WHERE ${sameKey(table, 'x', 'p')} AND to_jsonb(x) IS DISTINCT FROM to_jsonb(p)`, values),
      );
    }
  }
  return [...deletes, ...restores];
}

/**
 * The same as one statement: the deletes, inserts and updates as data-modifying CTEs, foreign
 * keys checked at its end, when every table is back (a starting row the run pointed at a row of
 * its own is written back in the same statement that deletes that row). A UNIQUE constraint
 * checks each row as it is written, in no order the statement sets: a starting row taking its
 * value back from a row of the run is refused, where `resetQueries` succeeds. The rows are put
 * back with this statement first, with those if it is refused.
 */
export function resetStatement(base: BaseRows, after: ReadBack): pg.QueryConfig | undefined {
  const values: unknown[] = [];
  const ctes: string[] = [];
  base.parentsFirst.forEach((table, n) => {
    const { extra, back } = rowsToPutBack(table, base, after);
    const rows = (list: unknown[]) => `jsonb_populate_recordset(NULL::${table.name}, $${values.push(JSON.stringify(list))}::jsonb)`;
    const columns = (base.full.get(table.name)?.columns ?? []).map((c) => pg.escapeIdentifier(c));
    if (extra.length) ctes.push(`forget_${n} AS (DELETE FROM ${table.name} AS x USING ${rows(extra)} AS p WHERE ${sameKey(table, 'x', 'p')} RETURNING 1)`);
    if (back.length) {
      const list = rows(back);
      ctes.push(
        `reset_${n} AS (UPDATE ${table.name} AS x SET ${columns.map((c) => `${c} = p.${c}`).join(', ')} FROM ${list} AS p WHERE ${sameKey(table, 'x', 'p')} AND to_jsonb(x) IS DISTINCT FROM to_jsonb(p) RETURNING 1)`,
        `restore_${n} AS (INSERT INTO ${table.name} (${columns.join(', ')}) SELECT ${columns.map((c) => `p.${c}`).join(', ')} FROM ${list} AS p WHERE NOT EXISTS (SELECT 1 FROM ${table.name} AS x WHERE ${sameKey(table, 'x', 'p')}) RETURNING 1)`,
      );
    }
  });
  return ctes.length ? named(`WITH ${ctes.join(',\n')}\nSELECT 1`, values) : undefined;
}

/**
 * The ways to put the starting rows back after a run that left `after`, to try in this order,
 * each the statements of one transaction, built only when tried: the one statement
 * (`resetStatement`), then the ordered ones (`resetQueries`) for when a UNIQUE refuses it; each
 * with the sequences set where they stood (a run's inserts, even refused ones, advance them:
 * the next run, and a replay of this one, would get other keys). Undefined when the run left
 * every table as it found it and there is no sequence.
 */
export type PutBack = readonly [() => Query[], ...(() => Query[])[]];
type Query = pg.QueryConfig | string;

export function putBackFrom(base: BaseRows, after: ReadBack): PutBack | undefined {
  const sequences = sequencesReset(base.sequences);
  const also = sequences ? [sequences] : [];
  const single = resetStatement(base, after);
  if (!single) return sequences && [() => also];
  // the user's triggers off while the rows are written back (see withTriggersOff)
  return [() => [...withTriggersOff(base.triggers, [single]), ...also], () => [...withTriggersOff(base.triggers, resetQueries(base, after)), ...also]];
}

/**
 * `attempt` with each way of `putBack` in turn, until the server accepts one: its result. The
 * last refusal is thrown, as is at once any failure that is not the server's (a dropped connection).
 */
export async function firstAccepted<T>(putBack: PutBack, attempt: (queries: Query[]) => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt(putBack[i]!());
    } catch (error) {
      outcomeOfError(error);
      if (i === putBack.length - 1) throw error;
    }
  }
}

/** A statement named by its text: a state's runs need few shapes, planned once each. */
function named(text: string, values: unknown[]): pg.QueryConfig {
  return { name: `ch_reset_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`, text, values };
}

/** Of one table: the rows the run added (as read back), and the starting rows it changed or removed (as they were). */
function rowsToPutBack(table: TableSpec, base: BaseRows, after: ReadBack): { extra: unknown[]; back: unknown[] } {
  const extra: unknown[] = [];
  const present = new Set<string>();
  for (const [key] of after.world.rows(table.name)) {
    present.add(key);
    if (!base.world.get(table.name, key)) extra.push(JSON.parse(after.images.get(writeId({ table: table.name, key }))!));
  }
  const back: unknown[] = [];
  for (const [key] of base.world.rows(table.name)) {
    const id = writeId({ table: table.name, key });
    if (!present.has(key) || after.images.get(id) !== base.images.get(id)) back.push(JSON.parse(base.images.get(id)!));
  }
  return { extra, back };
}
