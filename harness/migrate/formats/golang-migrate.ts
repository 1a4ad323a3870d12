import path from 'node:path';
import type pg from 'pg';
import { parsedBody, refuseDuplicates, type Migration } from '../migration-file.ts';
import { asOneQuery, autocommit, preparedAndGuarded, step, type PlanStep, type PlanUnit } from '../runner.ts';
import { normalise, readIfExists, type SqlCommand, type VersionTable } from '../version-table.ts';
import type { FormatSpec } from './format.ts';
import { numberedFiles, sameNumber } from './numbered.ts';

/** golang-migrate's file names (source/parse.go `DefaultRegex`): `<version>_<title>.<up|down>.<ext>`. */
const FILE = /^([0-9]+)_(.*)\.(down|up)\.(.*)$/;
const UP_SQL = /^([0-9]+)_(.*)\.up\.sql$/;

/**
 * golang-migrate (github.com/golang-migrate/migrate/v4), its postgres driver:
 * - `schema_migrations(version bigint not null primary key, dirty boolean not null)`: one row,
 *   the current version (database/postgres/postgres.go `ensureVersionTable`);
 * - each up migration: `SetVersion(v, dirty=true)` (its own transaction: TRUNCATE, INSERT),
 *   the whole file as ONE `ExecContext` (one multi-statement query: PostgreSQL runs it as one
 *   implicit transaction unless it controls transactions itself), then `SetVersion(v, false)`
 *   (migrate.go `runMigrations`, database/postgres/postgres.go `Run`, `SetVersion`);
 * - a failure leaves the row `dirty = true`, and the next `up` refuses before it applies
 *   anything: `Version()` returns dirty and `Up` returns `ErrDirty` ("Dirty database version
 *   %v. Fix and force version.", migrate.go `Up`). The harness's `guard` sends that check.
 */
export const golangMigrate: FormatSpec = {
  name: 'golang-migrate',
  tool: 'golang-migrate',
  proven: 'source and documentation',
  runners: ['golang-migrate'],
  async detect(listing) {
    return numberedFiles(listing, UP_SQL).length > 0;
  },
  async read(listing) {
    const migrations: Migration[] = [];
    for (const name of numberedFiles(listing, UP_SQL)) {
      const [, version, title] = FILE.exec(name)!;
      migrations.push({ revision: version!, description: title!, file: path.join(listing.dir, name), ...parsedBody(await listing.text(name), 0), transactional: true });
    }
    refuseDuplicates(migrations, sameNumber);
    return migrations;
  },
  versionTable: () => new GolangMigrateVersion(),
  plan(migrations, _runner, versionTable, options) {
    const table = versionTable as GolangMigrateVersion;
    if (migrations.length === 0) return [];
    const first = migrations[0]!;
    const units: PlanUnit[] = [];
    if (options.record) {
      units.push(...preparedAndGuarded(first, table, table.guard(), 'dirty-check'));
    }
    for (const migration of migrations) {
      const set = (dirty: boolean): PlanUnit => ({ migration, wrapped: true, steps: table.setVersion(migration, dirty).map((command, i) => step(migration, `${dirty ? 'dirty' : 'clean'}${i ? i + 1 : ''}`, dirty ? 'mark' : 'record', command, [])) });
      // an empty file is not sent (migrate.go runMigrations: `if migr.Body != nil`)
      const body: PlanStep[] = migration.statements.length > 0 ? [asOneQuery(migration)] : [];
      units.push(...(options.record ? [set(true)] : []), ...autocommit(migration, body), ...(options.record ? [set(false)] : []));
    }
    return units;
  },
};

export class GolangMigrateVersion implements VersionTable {
  readonly name = 'schema_migrations';
  readonly tables = ['schema_migrations'];
  readonly stampCovers = 'ancestors';

  prepare(): SqlCommand[] {
    return [{ sql: 'CREATE TABLE IF NOT EXISTS "schema_migrations" (version bigint not null primary key, dirty boolean not null)' }];
  }

  /** What `Up` checks before it applies anything: a dirty version refuses the deploy (ErrDirty). */
  guard(): SqlCommand {
    return {
      sql: `DO $golang_migrate$ DECLARE v bigint; BEGIN SELECT version INTO v FROM "schema_migrations" WHERE dirty LIMIT 1; IF FOUND THEN RAISE EXCEPTION 'Dirty database version %. Fix and force version.', v USING HINT = 'golang-migrate refuses to run: fix the database, then migrate force <version>'; END IF; END $golang_migrate$`,
    };
  }

  /** `SetVersion`: in one transaction, the table emptied and the version written (database/postgres/postgres.go). */
  setVersion(migration: Migration, dirty: boolean): SqlCommand[] {
    return [{ sql: 'TRUNCATE "schema_migrations"' }, { sql: 'INSERT INTO "schema_migrations" (version, dirty) VALUES ($1, $2)', parameters: [normalise(migration.revision), dirty] }];
  }

  record(): SqlCommand[] {
    return []; // the runner writes the version around each file (setVersion)
  }

  /** `migrate force V`: the version set, clean. */
  stamp(revision: string): SqlCommand[] {
    return [...this.prepare(), { sql: 'TRUNCATE "schema_migrations"' }, { sql: 'INSERT INTO "schema_migrations" (version, dirty) VALUES ($1, false)', parameters: [normalise(revision)] }];
  }

  /** Every revision up to the recorded version; a dirty version itself is not applied. */
  async applied(client: pg.ClientBase, chain: readonly Migration[]): Promise<Set<string>> {
    const rows = await readIfExists<{ version: string; dirty: boolean }>(client, this.name, 'SELECT version::text, dirty FROM "schema_migrations" LIMIT 1');
    const row = rows[0];
    if (!row) return new Set();
    const current = BigInt(row.version);
    return new Set(chain.filter((m) => (row.dirty ? BigInt(m.revision) < current : BigInt(m.revision) <= current)).map((m) => m.revision));
  }

  async describe(client: pg.ClientBase): Promise<string | undefined> {
    const row = (await readIfExists<{ version: string; dirty: boolean }>(client, this.name, 'SELECT version::text, dirty FROM "schema_migrations" LIMIT 1'))[0];
    return row?.dirty ? `golang-migrate left schema_migrations dirty at version ${row.version}: the next up refuses ("Dirty database version ${row.version}. Fix and force version.") until someone runs migrate force` : undefined;
  }
}
