import { createHash } from 'node:crypto';
import path from 'node:path';
import type pg from 'pg';
import { parsedBody, type Migration } from '../migration-file.ts';
import { asOneQuery, autocommit, preparedAndGuarded, step, type PlanUnit } from '../runner.ts';
import { readIfExists, type SqlCommand, type VersionTable } from '../version-table.ts';
import type { FormatSpec } from './format.ts';

const MIGRATION = /^([^/]+)\/migration\.sql$/;

/**
 * Prisma Migrate's `prisma/migrations/<timestamp>_<name>/migration.sql`, applied by
 * `prisma migrate deploy` (prisma-engines: schema-engine/core/src/commands/apply_migrations.rs,
 * schema-engine/connectors/sql-schema-connector/src/flavour/postgres.rs,
 * .../sql_migration_persistence.rs):
 * - revisions in the order of their folder names (`localeCompare`, packages/migrate listMigrations.ts);
 * - `_prisma_migrations`: a row is written when a revision starts (its checksum, the SHA-256
 *   of migration.sql), the script is sent as ONE query with no BEGIN (PostgreSQL runs it as
 *   one implicit transaction), then `applied_steps_count + 1`, then `finished_at`, each on its
 *   own (apply_migrations.rs, sql_migration_persistence.rs);
 * - a row left without `finished_at` (the script failed, or the deploy was killed) makes the
 *   next deploy refuse before it applies anything (error P3009).
 */
export const prisma: FormatSpec = {
  name: 'prisma',
  tool: 'Prisma Migrate',
  proven: 'source and documentation',
  runners: ['prisma-migrate-deploy'],
  async detect(listing) {
    return listing.files.includes('migration_lock.toml') || listing.files.some((file) => MIGRATION.test(file));
  },
  async read(listing) {
    const migrations: Migration[] = [];
    for (const file of listing.files.filter((f) => MIGRATION.test(f))) {
      const folder = MIGRATION.exec(file)![1]!;
      const text = await listing.text(file);
      migrations.push({
        revision: folder,
        description: folder.replace(/^\d+_/, ''),
        file: path.join(listing.dir, file),
        shownAs: file,
        ...parsedBody(text, 0),
        transactional: true,
        versionData: { checksum: createHash('sha256').update(text).digest('hex') },
      });
    }
    return migrations.sort((a, b) => a.revision.localeCompare(b.revision));
  },
  versionTable: () => new PrismaMigrations(),
  plan(migrations, _runner, versionTable, options) {
    const table = versionTable as PrismaMigrations;
    if (migrations.length === 0) return [];
    const first = migrations[0]!;
    const units: PlanUnit[] = options.record ? preparedAndGuarded(first, table, table.guard(), 'failed-check') : [];
    for (const migration of migrations) {
      units.push(
        ...autocommit(migration, [
          ...(options.record ? [step(migration, 'started', 'mark', table.started(migration), [])] : []),
          ...(migration.statements.length ? [asOneQuery(migration)] : []),
          ...(options.record ? [step(migration, 'steps', 'mark', table.stepApplied(migration), []), step(migration, 'record', 'record', table.finished(migration), [])] : []),
        ]),
      );
    }
    return units;
  },
};

export class PrismaMigrations implements VersionTable {
  readonly name = '_prisma_migrations';
  readonly tables = ['_prisma_migrations'];
  readonly stampCovers = 'revision';

  /** sql_schema_connector's `create_migrations_table` for PostgreSQL. */
  prepare(): SqlCommand[] {
    return [
      {
        sql: `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`,
      },
    ];
  }

  /** `migrate deploy` refuses while a migration has failed and was not resolved (P3009). */
  guard(): SqlCommand {
    return {
      sql: `DO $prisma$ DECLARE m text; BEGIN SELECT migration_name INTO m FROM "_prisma_migrations" WHERE finished_at IS NULL AND rolled_back_at IS NULL ORDER BY started_at LIMIT 1; IF FOUND THEN RAISE EXCEPTION 'P3009: migrate found failed migrations in the target database, new migrations will not be applied. The % migration failed', m USING HINT = 'prisma migrate resolve --rolled-back or --applied'; END IF; END $prisma$`,
    };
  }

  started(migration: Migration): SqlCommand {
    return { sql: 'INSERT INTO "_prisma_migrations" ("id","checksum","started_at","migration_name") VALUES (gen_random_uuid()::text, $1, now(), $2)', parameters: [migration.versionData!.checksum, migration.revision] };
  }

  /** After the script: `applied_steps_count + 1`, then `finished_at`, two statements (sql_migration_persistence.rs `record_successful_step`, `record_migration_finished`); the row is found by its id, here by the one unfinished row of the revision. */
  stepApplied(migration: Migration): SqlCommand {
    return { sql: 'UPDATE "_prisma_migrations" SET "applied_steps_count" = ("applied_steps_count" + 1) WHERE "migration_name" = $1 AND "finished_at" IS NULL AND "rolled_back_at" IS NULL', parameters: [migration.revision] };
  }

  finished(migration: Migration): SqlCommand {
    return { sql: 'UPDATE "_prisma_migrations" SET "finished_at" = now() WHERE "migration_name" = $1 AND "finished_at" IS NULL AND "rolled_back_at" IS NULL', parameters: [migration.revision] };
  }

  record(migration: Migration): SqlCommand[] {
    return [this.started(migration), this.stepApplied(migration), this.finished(migration)];
  }

  /** `prisma migrate resolve --applied`: a finished row, no step applied. */
  stamp(revision: string, chain: readonly Migration[]): SqlCommand[] {
    const migration = chain.find((m) => m.revision === revision)!;
    return [...this.prepare(), { sql: 'INSERT INTO "_prisma_migrations" ("id", "checksum", "migration_name", "started_at", "finished_at", "applied_steps_count") VALUES (gen_random_uuid()::text, $1, $2, now(), now(), 0)', parameters: [migration.versionData!.checksum, revision] }];
  }

  async applied(client: pg.ClientBase, chain: readonly Migration[]): Promise<Set<string>> {
    const rows = await readIfExists<{ migration_name: string }>(client, this.name, 'SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL');
    const names = new Set(rows.map((row) => row.migration_name));
    return new Set(chain.filter((m) => names.has(m.revision)).map((m) => m.revision));
  }

  async describe(client: pg.ClientBase): Promise<string | undefined> {
    const failed = await readIfExists<{ migration_name: string }>(client, this.name, 'SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NULL AND rolled_back_at IS NULL');
    return failed.length ? `Prisma recorded ${failed.map((r) => r.migration_name).join(', ')} as failed: the next migrate deploy refuses (P3009) until someone runs prisma migrate resolve` : undefined;
  }
}
