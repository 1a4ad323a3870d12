import path from 'node:path';
import { parsedBody, refuseDuplicates, type Migration } from '../migration-file.ts';
import { RowPerRevision } from '../version-table.ts';
import { numberedPlan } from './dbmate.ts';
import type { FormatSpec } from './format.ts';
import { NUMBERED, numberedFiles, sameNumber } from './numbered.ts';

/**
 * Plain SQL: `NNNN_description.sql`, the whole file is the up migration, sent by psql (in one
 * transaction with `-1` by default). The harness keeps `schema_migrations(version)` for it.
 */
export const plain: FormatSpec = {
  name: 'plain',
  tool: 'plain SQL files sent by psql',
  proven: 'real tool',
  runners: ['psql-single-transaction', 'psql', 'dbmate'],
  async detect(listing) {
    return numberedFiles(listing).length > 0;
  },
  async read(listing) {
    const migrations: Migration[] = [];
    for (const name of numberedFiles(listing)) {
      const [, revision, description] = NUMBERED.exec(name)!;
      migrations.push({ revision: revision!, description: description!, file: path.join(listing.dir, name), ...parsedBody(await listing.text(name), 0), transactional: true });
    }
    refuseDuplicates(migrations, sameNumber);
    return migrations;
  },
  versionTable: () => new RowPerRevision('schema_migrations', 'CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY)'),
  plan: numberedPlan,
};
