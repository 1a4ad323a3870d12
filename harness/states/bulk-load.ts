import pg from 'pg';
import { SetupError } from '../errors.ts';

/**
 * Loading a history at scale without firing triggers, as `pg_restore --disable-triggers` does:
 * `session_replication_role = replica` skips the foreign keys' per-row checks (a third of the
 * load's time), and `checkForeignKeys` then checks every foreign key once, set-based, so the
 * state still holds only rows its constraints accept. Used only by a superuser (the setting
 * needs it) and only when the database has no triggers of its own, which the load would skip.
 */
export async function skipTriggersIfSafe(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ superuser: boolean; triggers: number }>(
    `SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
            (SELECT count(*)::int FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE NOT t.tgisinternal AND n.nspname NOT IN ('pg_catalog', 'information_schema')) AS triggers`,
  );
  if (!rows[0]!.superuser || rows[0]!.triggers > 0) return false;
  await client.query('SET session_replication_role = replica');
  return true;
}

/** A foreign key of the user's tables: the child's columns and the parent's they reference, in order. */
export interface ForeignKey {
  name: string;
  child: string;
  parent: string;
  columns: string[];
  referenced: string[];
}

/** Every foreign key of the user's tables holds (MATCH SIMPLE: a row with a NULL in the key is exempt). */
export async function checkForeignKeys(client: pg.ClientBase, state: string): Promise<void> {
  for (const key of await readForeignKeys(client)) {
    const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n ${orphansOf(key)}`);
    if (rows[0]!.n > 0) throw new SetupError(`state ${state}: its history at scale breaks foreign key ${key.name}: ${rows[0]!.n} row(s) of ${key.child} reference no row of ${key.parent}`);
  }
}

/** `FROM child AS x WHERE …`: the child's rows whose key matches no parent row (MATCH SIMPLE). */
export function orphansOf(key: ForeignKey): string {
  const col = (alias: string, name: string) => `${alias}.${pg.escapeIdentifier(name)}`;
  const present = key.columns.map((c) => `${col('x', c)} IS NOT NULL`).join(' AND ');
  const matches = key.columns.map((c, i) => `${col('p', key.referenced[i]!)} = ${col('x', c)}`).join(' AND ');
  return `FROM ${key.child} AS x WHERE ${present} AND NOT EXISTS (SELECT 1 FROM ${key.parent} AS p WHERE ${matches})`;
}

/** The foreign keys of the user's tables, as the catalog holds them. */
export async function readForeignKeys(client: pg.ClientBase): Promise<ForeignKey[]> {
  const { rows: keys } = await client.query<ForeignKey>(
    `SELECT k.conname AS name, k.conrelid::regclass::text AS child, k.confrelid::regclass::text AS parent,
            array_agg(a.attname::text ORDER BY u.ord) AS columns, array_agg(r.attname::text ORDER BY u.ord) AS referenced
       FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace
       CROSS JOIN LATERAL unnest(k.conkey, k.confkey) WITH ORDINALITY AS u(col, ref, ord)
       JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.col
       JOIN pg_attribute r ON r.attrelid = k.confrelid AND r.attnum = u.ref
      WHERE k.contype = 'f' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      GROUP BY k.oid, k.conname, k.conrelid, k.confrelid`,
  );
  return keys;
}
