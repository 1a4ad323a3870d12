import path from 'node:path';
import { SetupError } from '../../errors.ts';
import { linesBefore, parsedBody, refuseDuplicates, type Migration } from '../migration-file.ts';
import { asOneQuery, autocommit, hasTransactionControl, oneByOne, prepareUnits, psqlUnits, recordSteps, type PlanOptions, type PlanStep, type PlanUnit, type RunnerName } from '../runner.ts';
import { RowPerRevision, type VersionTable } from '../version-table.ts';
import { anyFileSays, type FormatSpec } from './format.ts';
import { NUMBERED, numberedFiles, sameNumber } from './numbered.ts';

const UP_MARKER = /^--\s*migrate:up(\s*$|\s+\S+.*$)/m;
const DOWN_MARKER = /^--\s*migrate:down\b.*$/m;

/**
 * dbmate: `<version>_<name>.sql` with `-- migrate:up` / `-- migrate:down` blocks. Its runner
 * (pkg/dbmate/db.go `Migrate`, pkg/driver/postgres) sends BEGIN, the up block as ONE query
 * (`tx.Exec`), the version row, COMMIT; `-- migrate:up transaction:false` sends the block and
 * the version row without BEGIN/COMMIT.
 */
export const dbmate: FormatSpec = {
  name: 'dbmate',
  tool: 'dbmate',
  proven: 'real tool',
  runners: ['dbmate', 'psql-single-transaction', 'psql'],
  detect: (listing) => anyFileSays(listing, numberedFiles(listing), UP_MARKER),
  async read(listing) {
    const migrations: Migration[] = [];
    for (const name of numberedFiles(listing)) {
      const [, revision, description] = NUMBERED.exec(name)!;
      const up = upPart(await listing.text(name), name);
      migrations.push({ revision: revision!, description: description!, file: path.join(listing.dir, name), ...parsedBody(up.body, up.line, up.offset), transactional: !/\btransaction:false\b/.test(up.options) });
    }
    refuseDuplicates(migrations, sameNumber);
    return migrations;
  },
  // exactly what dbmate's PostgreSQL driver creates (pkg/driver/postgres CreateMigrationsTable)
  versionTable: () => new RowPerRevision('schema_migrations', 'create table if not exists public.schema_migrations (version varchar primary key)'),
  plan: numberedPlan,
};

/** Numbered files (plain or dbmate's), as dbmate sends them or as psql does (with `-1`, or without). */
export function numberedPlan(migrations: readonly Migration[], runner: RunnerName, versionTable: VersionTable, options: PlanOptions): PlanUnit[] {
  const record = (m: Migration) => (options.record ? recordSteps(m, versionTable.record(m)) : []);
  return [...prepareUnits(migrations, versionTable, options), ...migrations.flatMap((m) => (runner === 'dbmate' ? dbmateUnits(m, record(m)) : psqlUnits(m, runner === 'psql' ? 'psql' : 'psql-single-transaction', record(m))))];
}

export function dbmateUnits(migration: Migration, record: PlanStep[]): PlanUnit[] {
  if (migration.statements.length === 0) return record.length ? [{ migration, wrapped: migration.transactional, steps: record }] : [];
  // inside dbmate's transaction, statements sent one by one behave exactly like one
  // multi-statement query unless the block controls transactions itself; then (and for
  // transaction:false) only the single query is faithful (it is one implicit block)
  const single = hasTransactionControl(migration) || (!migration.transactional && migration.statements.length > 1);
  const body = single ? [asOneQuery(migration)] : oneByOne(migration);
  if (migration.transactional) return [{ migration, wrapped: true, steps: [...body, ...record] }];
  return autocommit(migration, [...body, ...record]);
}

/** The `-- migrate:up` block of a dbmate file (the marker line included, as dbmate sends it). */
function upPart(text: string, name: string): { body: string; line: number; offset: number; options: string } {
  const up = UP_MARKER.exec(text);
  if (!up) return { body: text, line: 0, offset: 0, options: '' };
  if (DOWN_MARKER.exec(text) && DOWN_MARKER.exec(text)!.index < up.index) throw new SetupError(`${name}: '-- migrate:down' comes before '-- migrate:up'`);
  const rest = text.slice(up.index);
  const down = DOWN_MARKER.exec(rest);
  return { body: down ? rest.slice(0, down.index) : rest, line: linesBefore(text, up.index), offset: up.index, options: up[1] ?? '' };
}
