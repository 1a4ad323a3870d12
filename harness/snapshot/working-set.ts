import type pg from 'pg';
import { snapshotCatalog } from '../catalog/index.ts';
import { copyRows, type TableCopy } from './copy-rows.ts';

/** The part of a snapshot the write groups run on. */
export interface WorkingSet {
  /** At most this many rows per table were taken, before their parents. */
  perTable: number;
  /** Per table: rows taken, of how many, and how many only as parents. */
  tables: TableCopy[];
  rows: number;
  /** Rows of the whole snapshot. */
  of: number;
}

/**
 * Fills `target` (a copy of the snapshot, emptied here) with at most `perTable` rows of each
 * table of `source` (another copy), then the parents those rows reference, round after round,
 * so that every foreign key holds: the same closure `--sample` makes on the source. Which rows
 * is the seed's (an order by a hash of each row's place in the copy, the same for every run and
 * replay of that seed, another for another seed). `whole` tables (the migration tool's
 * bookkeeping) are kept whole. Triggers do not fire: the rows already passed them.
 */
export async function keepWorkingSet(source: pg.ClientBase, target: pg.ClientBase, perTable: number, seed: number, whole: readonly string[]): Promise<WorkingSet> {
  const catalog = await snapshotCatalog(target);
  const kept = new Set(whole.flatMap((t) => [t, t.includes('.') ? t : `public.${t}`]));
  const tables = catalog.tables.filter((table) => !kept.has(table));
  await target.query('SET session_replication_role = replica');
  if (tables.length) await target.query(`TRUNCATE ${tables.join(', ')}`);
  const copies = await copyRows(source, target, { ...catalog, tables }, perTable, `hashtext(ctid::text || ${Number(seed)}::text)`);
  await target.query('RESET session_replication_role');
  await target.query('ANALYZE');
  return { perTable, tables: copies, rows: copies.reduce((sum, t) => sum + t.rows, 0), of: copies.reduce((sum, t) => sum + (t.total ?? t.rows), 0) };
}

/** One line for the report: what the write groups ran on. */
export function describeWorkingSet(set: WorkingSet): string {
  const parents = set.tables.reduce((sum, t) => sum + (t.parents ?? 0), 0);
  return `writes, concurrency and live deploy ran on a working set of ${set.rows} of ${set.of} row(s): at most ${set.perTable} per table, picked by the seed${parents ? `, and ${parents} parent row(s) they reference` : ''}, every foreign key closed (every run reads the suite's tables back whole; --working-set ROWS to change it, 0 for every row)`;
}
