import type pg from 'pg';
import { BOOKKEEPING_TABLES } from '../migrate/index.ts';

/** A column as the derived suite writes it. */
export interface ColumnFact {
  name: string;
  /** `format_type`, e.g. `bigint`, `numeric(10,2)`, `timestamp with time zone`. */
  type: string;
  notNull: boolean;
  hasDefault: boolean;
  /** Generated (never written) columns are read, not written. */
  generated: boolean;
  /** An enum's labels, in order. */
  labels?: string[];
  /** The type's category (`N` numeric, `S` string, `D` date/time, `B` boolean, `U` user, `E` enum, …). */
  category: string;
}

export interface ForeignKeyFact {
  name: string;
  columns: string[];
  /** The referenced table, as `regclass` prints it. */
  parent: string;
  parentColumns: string[];
  /** `a` no action, `r` restrict, `c` cascade, `n` set null, `d` set default. */
  onDelete: string;
}

/** A constraint of the table as the catalog holds it. */
export interface ConstraintFact {
  name: string;
  kind: 'check' | 'unique' | 'primary key' | 'foreign key' | 'exclude' | 'not null';
  /** `pg_get_constraintdef`, e.g. `CHECK ((qty > 0))`, `UNIQUE (email)`. */
  definition: string;
  columns: string[];
  validated: boolean;
}

export interface TableFact {
  /** As `regclass` prints it: `orders`, or `shop.orders` outside the search path. */
  name: string;
  columns: ColumnFact[];
  /** The primary key's columns, else a UNIQUE's over NOT NULL columns, else none. */
  key: string[];
  constraints: ConstraintFact[];
  foreignKeys: ForeignKeyFact[];
}

/** The user's tables (the chain's version table left out), in name order. */
export async function readSchemaFacts(client: pg.ClientBase): Promise<TableFact[]> {
  const tables = await client.query<{ oid: number; name: string }>(
    `SELECT c.oid::int AS oid, c.oid::regclass::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
        AND c.relname <> ALL($1::text[]) AND n.nspname NOT IN ('sqitch', 'drizzle') ORDER BY 2`,
    [BOOKKEEPING_TABLES],
  );
  const facts: TableFact[] = [];
  for (const table of tables.rows) facts.push(await tableFact(client, table.oid, table.name));
  return facts;
}

async function tableFact(client: pg.ClientBase, oid: number, name: string): Promise<TableFact> {
  const columns = await client.query<{ name: string; type: string; notnull: boolean; hasdefault: boolean; generated: boolean; labels: string[] | null; category: string }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull, a.atthasdef OR a.attidentity <> '' AS hasdefault, a.attgenerated <> '' AS generated,
            (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = a.atttypid) AS labels, t.typcategory AS category
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [oid],
  );
  const constraints = await client.query<{ name: string; contype: string; definition: string; columns: string[]; validated: boolean; parent: string | null; parentcolumns: string[] | null; ondelete: string }>(
    `SELECT c.conname AS name, c.contype AS contype, pg_get_constraintdef(c.oid) AS definition, c.convalidated AS validated,
            ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i) AS columns,
            CASE WHEN c.contype = 'f' THEN c.confrelid::regclass::text END AS parent,
            ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i) AS parentcolumns,
            c.confdeltype AS ondelete
       FROM pg_constraint c WHERE c.conrelid = $1 ORDER BY c.conname`,
    [oid],
  );
  const kinds: Record<string, ConstraintFact['kind']> = { c: 'check', u: 'unique', p: 'primary key', f: 'foreign key', x: 'exclude', n: 'not null' };
  const columnFacts: ColumnFact[] = columns.rows.map((c) => ({ name: c.name, type: c.type, notNull: c.notnull, hasDefault: c.hasdefault, generated: c.generated, category: c.category, ...(c.labels ? { labels: c.labels } : {}) }));
  const constraintFacts: ConstraintFact[] = constraints.rows.filter((c) => kinds[c.contype]).map((c) => ({ name: c.name, kind: kinds[c.contype]!, definition: c.definition, columns: c.columns, validated: c.validated }));
  // a unique index (CREATE UNIQUE INDEX) is a uniqueness constraint too, named as the server names it in a 23505 (its bare name: Prisma's are "User_email_key")
  const indexes = await client.query<{ name: string; definition: string; columns: string[] }>(
    `SELECT (SELECT x.relname::text FROM pg_class x WHERE x.oid = i.indexrelid) AS name, pg_get_indexdef(i.indexrelid) AS definition,
            ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o) AS columns
       FROM pg_index i WHERE i.indrelid = $1 AND i.indisunique AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1`,
    [oid],
  );
  for (const index of indexes.rows) constraintFacts.push({ name: index.name, kind: 'unique', definition: index.definition, columns: index.columns, validated: true });
  for (const column of columnFacts) if (column.notNull && !constraintFacts.some((c) => c.kind === 'not null' && c.columns[0] === column.name)) constraintFacts.push({ name: `${column.name} NOT NULL`, kind: 'not null', definition: 'NOT NULL', columns: [column.name], validated: true });
  const primary = constraintFacts.find((c) => c.kind === 'primary key');
  const unique = constraintFacts.find((c) => c.kind === 'unique' && c.columns.length > 0 && c.columns.every((name) => columnFacts.find((col) => col.name === name)?.notNull));
  const foreignKeys = constraints.rows.filter((c) => c.contype === 'f').map((c) => ({ name: c.name, columns: c.columns, parent: c.parent!, parentColumns: c.parentcolumns ?? [], onDelete: c.ondelete }));
  return { name, columns: columnFacts, key: (primary ?? unique)?.columns ?? [], constraints: constraintFacts, foreignKeys };
}
