import pg from 'pg';
import path from 'node:path';
import { SetupError } from '../errors.ts';
import { compareRevisions, type Migration } from './migration-file.ts';
import type { SqlStatement } from './sql-statements.ts';

export const DEFAULT_VERSION_TABLE = 'schema_migrations';

/**
 * Tables in which migration tools keep their own bookkeeping; their rows change with every
 * migration by design, so "every row is kept" is not asked of them.
 */
export const BOOKKEEPING_TABLES = ['schema_migrations', 'alembic_version', 'flyway_schema_history', 'goose_db_version', 'knex_migrations', '_prisma_migrations'];

/** A statement of a migration failed: everything a user needs to find it. */
export class MigrationError extends Error {
  override readonly name = 'MigrationError';
  constructor(
    readonly migration: Migration,
    readonly statement: SqlStatement,
    readonly sqlstate: string | undefined,
    readonly pgMessage: string,
    readonly constraint: string | undefined,
    readonly table: string | undefined,
  ) {
    super(
      `${path.basename(migration.file)}:${statement.line}: ${sqlstate ?? 'error'} ${pgMessage}\n  statement: ${oneLine(statement.sql)}`,
    );
  }
}

export interface ApplyOptions {
  /** The caller holds an open transaction: use savepoints instead of BEGIN/COMMIT. */
  nested?: boolean;
}

export interface MigrateResult {
  /** Revisions applied by this call, in order. */
  applied: string[];
}

/**
 * Applies a chain of migrations to a database up to a revision, each revision in its own
 * transaction, recording applied revisions in a version table (`version text primary key`,
 * the dbmate layout).
 */
export class Migrator {
  constructor(
    readonly migrations: readonly Migration[],
    readonly versionTable: string = DEFAULT_VERSION_TABLE,
  ) {}

  /** The revision list up to `to` (inclusive); `to` must name a revision of the chain. */
  chainTo(to?: string): Migration[] {
    if (to === undefined) return [...this.migrations];
    const index = this.migrations.findIndex((migration) => compareRevisions(migration.revision, to) === 0);
    if (index < 0) {
      throw new SetupError(`--to ${to} names no revision (have: ${this.migrations.map((m) => m.revision).join(', ')})`);
    }
    return this.migrations.slice(0, index + 1);
  }

  /** The last revision of the chain up to `to`. */
  target(to?: string): Migration {
    const chain = this.chainTo(to);
    return chain[chain.length - 1]!;
  }

  async appliedRevisions(client: pg.ClientBase): Promise<string[]> {
    const exists = await client.query('SELECT to_regclass($1) AS oid', [this.versionTable]);
    if (exists.rows[0].oid === null) return [];
    const result = await client.query<{ version: string }>(`SELECT version FROM ${pg.escapeIdentifier(this.versionTable)}`);
    return result.rows.map((row) => row.version).sort(compareRevisions);
  }

  /** True when every revision up to `to` may run inside a transaction the caller opened. */
  canNest(to?: string): boolean {
    return this.chainTo(to).every((migration) => migration.transactional);
  }

  /**
   * Applies every revision up to `to` that the version table does not list. With `nested`,
   * the caller has opened a transaction and each revision runs under a savepoint instead, so
   * a failed revision is rolled back exactly as its own transaction would be.
   */
  async migrate(client: pg.ClientBase, to?: string, options: ApplyOptions = {}): Promise<MigrateResult> {
    await this.ensureVersionTable(client);
    const done = new Set((await this.appliedRevisions(client)).map((revision) => BigInt(revision)));
    const applied: string[] = [];
    for (const migration of this.chainTo(to)) {
      if (done.has(BigInt(migration.revision))) continue;
      await this.apply(client, migration, { record: true, nested: options.nested });
      applied.push(migration.revision);
    }
    return { applied };
  }

  /**
   * Runs one migration's statements in a transaction (unless the file opts out), optionally
   * recording it. Used by `migrate`, and on its own to re-run a revision (idempotency check).
   */
  async apply(client: pg.ClientBase, migration: Migration, options: ApplyOptions & { record: boolean }): Promise<void> {
    if (options.nested && !migration.transactional) {
      throw new Error(`${path.basename(migration.file)} runs outside a transaction and cannot be nested`);
    }
    const savepoint = `migrate_${migration.revision}`;
    const [begin, commit, rollback] = options.nested
      ? [`SAVEPOINT ${savepoint}`, `RELEASE SAVEPOINT ${savepoint}`, `ROLLBACK TO SAVEPOINT ${savepoint}`]
      : ['BEGIN', 'COMMIT', 'ROLLBACK'];
    const transactional = migration.transactional;
    if (transactional) await client.query(begin);
    try {
      for (const statement of migration.up) {
        await runStatement(client, migration, statement);
      }
      if (options.record) await this.record(client, migration.revision);
      if (transactional) await client.query(commit);
    } catch (error) {
      if (transactional) await client.query(rollback).catch(() => undefined);
      throw error;
    }
  }

  /** Writes a revision into the version table without running it (a "stamp"). */
  async stamp(client: pg.ClientBase, revision: string): Promise<void> {
    await this.ensureVersionTable(client);
    await this.record(client, revision);
  }

  private async record(client: pg.ClientBase, revision: string): Promise<void> {
    await client.query(`INSERT INTO ${pg.escapeIdentifier(this.versionTable)} (version) VALUES ($1) ON CONFLICT DO NOTHING`, [revision]);
  }

  private async ensureVersionTable(client: pg.ClientBase): Promise<void> {
    await client.query(`CREATE TABLE IF NOT EXISTS ${pg.escapeIdentifier(this.versionTable)} (version text PRIMARY KEY)`);
  }
}

async function runStatement(client: pg.ClientBase, migration: Migration, statement: SqlStatement): Promise<void> {
  try {
    await client.query(statement.sql);
  } catch (error) {
    const pgError = error as pg.DatabaseError;
    // with a position (syntax errors), point at the line inside the statement
    const line = pgError.position ? statement.line + statement.sql.slice(0, Number(pgError.position) - 1).split('\n').length - 1 : statement.line;
    const at = line === statement.line ? statement : { ...statement, line };
    throw new MigrationError(migration, at, pgError.code, pgError.message, pgError.constraint, pgError.table);
  }
}

function oneLine(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? flat.slice(0, 297) + '...' : flat;
}
