import { createHash } from 'node:crypto';
import pg from 'pg';
import type { CatalogSnapshot } from './catalog-snapshot.ts';

/** Per table: how many rows, and an md5 over every row's text in a stable order. */
export type ContentFingerprint = Record<string, { rows: number; md5: string }>;

/**
 * Fingerprints the content of every table of `catalog`, over the columns it lists, in one
 * round trip. Taking the columns from the *earlier* snapshot makes "data preserved" mean:
 * every row that existed is still there with the same values, whatever columns a migration
 * added. `now`, the catalog as it is at this moment, tells which of those tables or columns a
 * migration removed: they are reported as such, never queried (a failing query would abort a
 * transaction the caller holds open).
 */
export async function fingerprintContent(client: pg.ClientBase, catalog: CatalogSnapshot, exclude: readonly string[] = [], now: CatalogSnapshot = catalog): Promise<ContentFingerprint> {
  const fingerprint: ContentFingerprint = {};
  const parts: string[] = [];
  for (const table of catalog.tables) {
    if (exclude.some((name) => tableMatches(table, name))) continue;
    const columns = catalog.columns.filter((column) => column.table === table).map((column) => column.name);
    if (columns.length === 0) continue;
    const gone = columns.filter((column) => !now.columns.some((c) => c.table === table && c.name === column));
    if (gone.length > 0) {
      fingerprint[table] = { rows: -1, md5: now.tables.includes(table) ? `column(s) ${gone.join(', ')} dropped` : 'table dropped' };
      continue;
    }
    const row = `ROW(${columns.map((column) => pg.escapeIdentifier(column)).join(', ')})::text`;
    parts.push(`SELECT ${pg.escapeLiteral(table)} AS t, count(*) AS rows, md5(coalesce(string_agg(${row}, E'\\n' ORDER BY ${row}), '')) AS md5 FROM ${table}`);
  }
  if (parts.length > 0) {
    // named: a state's runs send the same text every time, planned once per connection
    const text = parts.join('\nUNION ALL\n');
    const result = await client.query<{ t: string; rows: string; md5: string }>({ name: `ch_fingerprint_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`, text });
    for (const row of result.rows) fingerprint[row.t] = { rows: Number(row.rows), md5: row.md5 };
  }
  return fingerprint;
}

/** Whether a catalog table name (`public.t`, quoted as needed) is the table `name` (`t` or `schema.t`). */
export function tableMatches(table: string, name: string): boolean {
  return table === name || table.endsWith(`.${pg.escapeIdentifier(name)}`) || table.endsWith(`.${name}`);
}

/** Lines describing how two fingerprints differ (tables compared by the first one's keys). */
export function diffFingerprints(before: ContentFingerprint, after: ContentFingerprint): string[] {
  const lines: string[] = [];
  for (const [table, was] of Object.entries(before)) {
    const now = after[table];
    if (!now || now.rows < 0) lines.push(`${table}: ${now ? now.md5 : 'table no longer readable'}`);
    else if (now.rows !== was.rows) lines.push(`${table}: ${was.rows} rows before, ${now.rows} after`);
    else if (now.md5 !== was.md5) lines.push(`${table}: same row count (${was.rows}) but row contents changed`);
  }
  return lines;
}
