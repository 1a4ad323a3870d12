import type pg from 'pg';

/** What a migration can change in a schema, as PostgreSQL itself prints it. */
export interface CatalogSnapshot {
  tables: string[];
  columns: ColumnInfo[];
  constraints: ConstraintInfo[];
  indexes: IndexInfo[];
}

export interface ColumnInfo {
  table: string;
  name: string;
  type: string;
  notNull: boolean;
  default: string | null;
}

export interface ConstraintInfo {
  table: string;
  name: string;
  /** `pg_get_constraintdef`, e.g. `CHECK ((outcome_status IS NULL) OR …)`. */
  definition: string;
  validated: boolean;
  deferrable: boolean;
  deferred: boolean;
}

export interface IndexInfo {
  table: string;
  name: string;
  definition: string;
}

const USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'`;

/**
 * Tables, columns, constraints and indexes of every user schema, in one round trip.
 * Normalised across PostgreSQL versions: NOT NULL constraints, which PostgreSQL 18 lists in
 * pg_constraint (contype 'n'), are left out because nullability is already part of each column.
 */
const SNAPSHOT = `
  SELECT
    (SELECT coalesce(json_agg(t ORDER BY t), '[]') FROM (
       SELECT format('%I.%I', n.nspname, c.relname) AS t
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p') AND ${USER_SCHEMAS}) tables) AS tables,
    (SELECT coalesce(json_agg(x ORDER BY x."table", x.position), '[]') FROM (
       SELECT format('%I.%I', n.nspname, c.relname) AS "table", a.attname AS name, a.attnum AS position,
              format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS "notNull",
              pg_get_expr(d.adbin, d.adrelid) AS default
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND ${USER_SCHEMAS}) x) AS columns,
    (SELECT coalesce(json_agg(x ORDER BY x."table", x.name), '[]') FROM (
       SELECT format('%I.%I', n.nspname, c.relname) AS "table", k.conname AS name,
              pg_get_constraintdef(k.oid) AS definition, k.convalidated AS validated,
              k.condeferrable AS deferrable, k.condeferred AS deferred
       FROM pg_constraint k
       JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE k.contype <> 'n' AND ${USER_SCHEMAS}) x) AS constraints,
    (SELECT coalesce(json_agg(x ORDER BY x."table", x.name), '[]') FROM (
       SELECT format('%I.%I', n.nspname, t.relname) AS "table", i.relname AS name, pg_get_indexdef(i.oid) AS definition
       FROM pg_index ix
       JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
       WHERE ${USER_SCHEMAS}) x) AS indexes`;

export async function snapshotCatalog(client: pg.ClientBase): Promise<CatalogSnapshot> {
  const row = (await client.query<Omit<CatalogSnapshot, 'columns'> & { columns: (ColumnInfo & { position?: number })[] }>({ name: 'ch_catalog_snapshot', text: SNAPSHOT })).rows[0]!;
  return {
    tables: row.tables,
    columns: row.columns.map(({ position: _position, ...column }) => column),
    constraints: row.constraints,
    indexes: row.indexes,
  };
}
