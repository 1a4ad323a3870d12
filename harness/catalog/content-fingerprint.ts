import pg from 'pg';
import type { CatalogSnapshot } from './catalog-snapshot.ts';

/** Per table: how many rows, and an md5 over every row's text in a stable order. */
export type ContentFingerprint = Record<string, { rows: number; md5: string }>;

/**
 * Fingerprints the content of every table of a catalog, over the columns that catalog lists.
 * Taking the columns from the *earlier* snapshot makes "data preserved" mean: every row that
 * existed is still there with the same values, whatever columns a migration added.
 */
export async function fingerprintContent(client: pg.ClientBase, catalog: CatalogSnapshot, exclude: readonly string[] = []): Promise<ContentFingerprint> {
  const fingerprint: ContentFingerprint = {};
  for (const table of catalog.tables) {
    if (exclude.some((name) => table === name || table.endsWith(`.${pg.escapeIdentifier(name)}`) || table.endsWith(`.${name}`))) continue;
    const columns = catalog.columns.filter((column) => column.table === table).map((column) => pg.escapeIdentifier(column.name));
    if (columns.length === 0) continue;
    const row = `ROW(${columns.join(', ')})::text`;
    try {
      const result = await client.query<{ rows: string; md5: string | null }>(
        `SELECT count(*) AS rows, md5(coalesce(string_agg(${row}, E'\\n' ORDER BY ${row}), '')) AS md5 FROM ${table}`,
      );
      fingerprint[table] = { rows: Number(result.rows[0]!.rows), md5: result.rows[0]!.md5 ?? '' };
    } catch (error) {
      fingerprint[table] = { rows: -1, md5: `unreadable: ${(error as Error).message}` };
    }
  }
  return fingerprint;
}

/** Lines describing how two fingerprints differ (tables compared by the first one's keys). */
export function diffFingerprints(before: ContentFingerprint, after: ContentFingerprint): string[] {
  const lines: string[] = [];
  for (const [table, was] of Object.entries(before)) {
    const now = after[table];
    if (!now) lines.push(`${table}: table no longer readable`);
    else if (now.rows !== was.rows) lines.push(`${table}: ${was.rows} rows before, ${now.rows} after`);
    else if (now.md5 !== was.md5) lines.push(`${table}: same row count (${was.rows}) but row contents changed`);
  }
  return lines;
}
