import pg from 'pg';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { CatalogSnapshot } from '../catalog/index.ts';
import { orphansOf, readForeignKeys, type ForeignKey } from '../states/bulk-load.ts';

/** What was copied of one table: rows taken, of how many, and how many of them only as parents of sampled rows. */
export interface TableCopy {
  table: string;
  rows: number;
  /** The source's row count (counted only when sampling). */
  total?: number;
  /** Rows taken beyond the sample, because a sampled row references them. */
  parents?: number;
  /** Rows whose reference the source itself cannot satisfy (a NOT VALID foreign key over orphans). */
  orphans?: number;
}

/** The columns a COPY can write: all but generated ones. */
function copiedColumns(table: string, catalog: CatalogSnapshot): string[] {
  return catalog.columns.filter((c) => c.table === table && !/GENERATED ALWAYS AS \(/.test(c.attributes)).map((c) => pg.escapeIdentifier(c.name));
}

/** Streams `select` (a query over the source) into `table` of the copy, in text format (what every major reads); the rows written. */
async function stream(source: pg.ClientBase, target: pg.ClientBase, select: string, table: string, columns: string[]): Promise<number> {
  const into = target.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  await pipeline(source.query(copyTo(`COPY (${select}) TO STDOUT`)), into);
  return into.rowCount;
}

/**
 * Every row of every table of the source (or at most `sample` per table), into the copy's
 * tables of the same names. The copy's session must skip triggers (`session_replication_role
 * = replica`): PROD's rows already passed its foreign keys, and its triggers must not fire a
 * second time. A sample takes the first rows the source returns, or the first in `order` (an
 * SQL expression over the table's rows) when given. It is then closed under the foreign keys: each parent a taken row
 * references is taken too, round after round, so that every foreign key holds on the copy.
 */
export async function copyRows(source: pg.ClientBase, target: pg.ClientBase, catalog: CatalogSnapshot, sample?: number, order?: string): Promise<TableCopy[]> {
  const copies: TableCopy[] = [];
  for (const table of catalog.tables) {
    const columns = copiedColumns(table, catalog);
    if (columns.length === 0) continue;
    const limit = sample !== undefined ? `${order ? ` ORDER BY ${order}` : ''} LIMIT ${sample}` : '';
    const rows = await stream(source, target, `SELECT ${columns.join(', ')} FROM ${table}${limit}`, table, columns);
    const copy: TableCopy = { table, rows };
    if (sample !== undefined) copy.total = Number((await source.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);
    copies.push(copy);
  }
  if (sample !== undefined) await closeUnderForeignKeys(source, target, catalog, copies);
  return copies;
}

/** Takes the parents of taken rows from the source until every foreign key of the copy holds (or the source lacks the parent too). */
async function closeUnderForeignKeys(source: pg.ClientBase, target: pg.ClientBase, catalog: CatalogSnapshot, copies: TableCopy[]): Promise<void> {
  const keys = await readForeignKeys(target);
  const byTable = (table: string) => copies.find((c) => c.table === table || c.table.endsWith(`.${table}`) || c.table === `public.${table}`);
  for (let added = 1; added > 0; ) {
    added = 0;
    for (const key of keys) {
      const missing = await missingParents(target, key);
      if (missing.length === 0) continue;
      const parentTable = catalog.tables.find((t) => t === key.parent || t === `public.${key.parent}`) ?? key.parent;
      const columns = copiedColumns(parentTable, catalog);
      const types = key.referenced.map((column) => catalog.columns.find((c) => c.table === parentTable && c.name === column)?.type ?? 'text');
      for (let i = 0; i < missing.length; i += 5000) {
        const batch = missing.slice(i, i + 5000);
        const arrays = key.referenced.map((_, k) => `ARRAY[${batch.map((row) => (row[k] === null ? 'NULL' : pg.escapeLiteral(row[k]!))).join(', ')}]::${types[k]}[]`);
        const wanted = `(${key.referenced.map((c) => pg.escapeIdentifier(c)).join(', ')}) IN (SELECT * FROM unnest(${arrays.join(', ')}))`;
        const rows = await stream(source, target, `SELECT ${columns.join(', ')} FROM ${key.parent} WHERE ${wanted}`, parentTable, columns);
        const copy = byTable(parentTable);
        if (copy) {
          copy.rows += rows;
          copy.parents = (copy.parents ?? 0) + rows;
        }
        added += rows;
      }
    }
  }
  // what is still unmatched is unmatched on the source as well (a NOT VALID foreign key lets orphans be)
  for (const key of keys) {
    const { rows } = await target.query<{ n: number }>(`SELECT count(*)::int AS n ${orphansOf(key)}`);
    const copy = byTable(key.child);
    if (rows[0]!.n > 0 && copy) copy.orphans = (copy.orphans ?? 0) + rows[0]!.n;
  }
}

/** The distinct keys the child's rows reference that no parent row of the copy has, each as its columns' texts. */
async function missingParents(target: pg.ClientBase, key: ForeignKey): Promise<(string | null)[][]> {
  const columns = key.columns.map((c) => `x.${pg.escapeIdentifier(c)}::text`);
  const { rows } = await target.query<{ k: (string | null)[] }>(`SELECT DISTINCT ARRAY[${columns.join(', ')}] AS k ${orphansOf(key)}`);
  return rows.map((row) => row.k);
}

/** Sets each sequence of the copy to the source's value, so that new keys do not collide with copied rows. */
export async function copySequences(source: pg.ClientBase, target: pg.ClientBase, catalog: CatalogSnapshot): Promise<void> {
  for (const sequence of catalog.objects.filter((o) => o.kind === 'sequence')) {
    const { rows } = await source.query<{ last_value: string; is_called: boolean }>(`SELECT last_value, is_called FROM ${sequence.name}`);
    await target.query(`SELECT setval($1::regclass, $2, $3)`, [sequence.name, rows[0]!.last_value, rows[0]!.is_called]);
  }
}
