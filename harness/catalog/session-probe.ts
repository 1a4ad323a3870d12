import type pg from 'pg';

/** A table lock: the relation as `regclass` prints it, and pg_locks' mode (`AccessExclusiveLock`). */
export interface LockRef {
  relation: string;
  mode: string;
}

/** What the lock ledger reads after each message, on the deploying session itself. */
export interface CatalogProbe {
  locks: LockRef[];
  files: { oid: number; relation: string; filenode: number }[];
  constraints: { oid: number; relation: string; name: string; validated: boolean }[];
}

const USER_NAMESPACE = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'`;

/**
 * One query: the session's granted table locks (its own pid, outside the system schemas),
 * the data file of every user table and materialized view (a rewrite gives a table a new
 * relfilenode), and every constraint's validation flag. Read on the deploying session, it
 * sees the transaction's own uncommitted changes.
 */
const PROBE_SQL = `SELECT
  (SELECT coalesce(json_agg(json_build_object('relation', c.oid::regclass::text, 'mode', l.mode) ORDER BY c.oid::regclass::text, l.mode), '[]')
     FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted AND ${USER_NAMESPACE}) AS locks,
  (SELECT coalesce(json_agg(json_build_object('oid', c.oid, 'relation', c.oid::regclass::text, 'filenode', c.relfilenode)), '[]')
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'm') AND ${USER_NAMESPACE}) AS files,
  (SELECT coalesce(json_agg(json_build_object('oid', k.oid, 'relation', k.conrelid::regclass::text, 'name', k.conname, 'validated', k.convalidated)), '[]')
     FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace
    WHERE k.conrelid <> 0 AND ${USER_NAMESPACE}) AS constraints`;

export async function catalogProbe(client: pg.ClientBase): Promise<CatalogProbe> {
  const result = await client.query<{ locks: LockRef[]; files: CatalogProbe['files']; constraints: CatalogProbe['constraints'] }>(PROBE_SQL);
  const row = result.rows[0]!;
  return { locks: row.locks, files: row.files, constraints: row.constraints };
}
