import path from 'node:path';
import { SetupError } from '../../errors.ts';
import { listDirectory, type Migration } from '../migration-file.ts';
import type { MigrationPlan, PlanOptions, RunnerName } from '../runner.ts';
import { loadSqlParser } from '../sql-statements.ts';
import type { VersionTable } from '../version-table.ts';
import { alembic } from './alembic.ts';
import { dbmate } from './dbmate.ts';
import { drizzle } from './drizzle.ts';
import { flyway } from './flyway.ts';
import type { ChainFormat, DirectoryListing, FormatSpec } from './format.ts';
import { golangMigrate } from './golang-migrate.ts';
import { goose } from './goose.ts';
import { nodePgMigrate } from './node-pg-migrate.ts';
import { plain } from './plain.ts';
import { prisma } from './prisma.ts';
import { sqitch } from './sqitch.ts';

export { FORMAT_NAMES, type ChainFormat, type DirectoryListing, type FormatSpec } from './format.ts';

/** Every format, in the order a directory is tried: the most specific layouts first, plain SQL last. */
export const FORMATS: readonly FormatSpec[] = [prisma, drizzle, sqitch, alembic, flyway, golangMigrate, goose, nodePgMigrate, dbmate, plain];

export function formatSpec(name: ChainFormat): FormatSpec {
  return FORMATS.find((format) => format.name === name)!;
}

/** The runner a format's tool uses unless told otherwise. */
export function defaultRunner(format: ChainFormat): RunnerName {
  return formatSpec(format).runners[0]!;
}

/** Where tools keep their chain inside a project, for `--migrations` given the project's root. */
export const PROJECT_SUBFOLDERS = ['prisma/migrations', 'db/migration', 'src/main/resources/db/migration', 'migrations', 'db/migrations', 'drizzle'];

async function detected(listing: DirectoryListing): Promise<FormatSpec | undefined> {
  for (const candidate of FORMATS) if (await candidate.detect(listing)) return candidate;
  return undefined;
}

/**
 * Reads a migration directory: every revision, in chain order, in the format given or the one
 * its layout shows. Given a project's root instead (nothing recognised in it), the chain is
 * looked for where the tools keep it (`prisma/migrations`, Flyway's `db/migration`…).
 */
export async function readMigrationDirectory(dir: string, format?: ChainFormat): Promise<{ dir: string; format: ChainFormat; migrations: Migration[] }> {
  let listing = await listDirectory(dir);
  await loadSqlParser();
  let spec = format ? formatSpec(format) : await detected(listing);
  if (!spec) {
    for (const sub of PROJECT_SUBFOLDERS) {
      const inner = await listDirectory(path.join(dir, sub)).catch(() => undefined);
      const found = inner && (await detected(inner));
      if (found) {
        [listing, spec] = [inner, found];
        break;
      }
    }
  }
  if (!spec) {
    throw new SetupError(
      `migrations directory ${dir} has no migration files the harness can read (plain NNNN_description.sql, dbmate, Alembic offline SQL, Prisma's <timestamp>_<name>/migration.sql, Drizzle Kit's meta/_journal.json, node-pg-migrate, Flyway's V<version>__<desc>.sql, golang-migrate's <version>_<name>.up.sql, goose, Sqitch's sqitch.plan); name the format with --format if it is one of them`,
    );
  }
  const migrations = await spec.read(listing);
  if (migrations.length === 0) throw new SetupError(`migrations directory ${dir} holds no ${spec.tool} revisions`);
  return { dir: listing.dir, format: spec.name, migrations };
}

/** What a runner sends to apply these revisions, as the chain's tool sends them. */
export function planMigrations(format: ChainFormat, migrations: readonly Migration[], runner: RunnerName, versionTable: VersionTable, options: PlanOptions): MigrationPlan {
  const spec = formatSpec(format);
  if (!spec.runners.includes(runner)) throw new SetupError(`--runner ${runner} does not send ${spec.tool} chains (${spec.name}: ${spec.runners.join(', ')})`);
  return { runner, migrations: [...migrations], units: spec.plan(migrations, runner, versionTable, options) };
}
