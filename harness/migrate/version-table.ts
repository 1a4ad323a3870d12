import type pg from 'pg';
import type { Migration } from './migration-file.ts';

/** A statement with its parameters. */
export interface SqlCommand {
  sql: string;
  parameters?: readonly unknown[];
}

/**
 * Where a chain's tool records applied revisions, written the way that tool writes it. This
 * is the one place that knows the version tables: creating, recording, stamping, reading.
 */
export interface VersionTable {
  /** The table, as SQL names it (`schema_migrations`, `drizzle.__drizzle_migrations`). */
  readonly name: string;
  /** Every table the tool keeps its bookkeeping in, parents first (Sqitch's registry has several). */
  readonly tables: readonly string[];
  /** Whether stamping a revision marks only it applied, or it and every revision before it (a head). */
  readonly stampCovers: 'revision' | 'ancestors';
  /** What a runner sends once before applying anything (creating the table), if anything. */
  prepare(): SqlCommand[];
  /** What recording `migration` as applied sends; none when the migration file records itself. */
  record(migration: Migration): SqlCommand[];
  /** What stamping `revision` as applied (without running it) sends, as the tool's stamp does. */
  stamp(revision: string, chain: readonly Migration[]): SqlCommand[];
  /** The revisions the table says are applied. */
  applied(client: pg.ClientBase, chain: readonly Migration[]): Promise<Set<string>>;
  /** After a failed deploy: what the table says that the next deploy will meet (a dirty flag, a failed row), if anything. */
  describe?(client: pg.ClientBase, chain: readonly Migration[]): Promise<string | undefined>;
}

/** A stamp as most tools make one (`migrate resolve --applied`, `deploy --log-only`, a history row written by hand): the table created if needed, then the revision's own record. */
export function stampByRecording(table: Pick<VersionTable, 'prepare' | 'record'>, revision: string, chain: readonly Migration[]): SqlCommand[] {
  return [...table.prepare(), ...table.record(chain.find((m) => m.revision === revision) ?? ({ revision } as Migration))];
}

/** Tables in which migration tools keep their bookkeeping: exempt from "every row is kept". */
export const BOOKKEEPING_TABLES = ['schema_migrations', 'alembic_version', 'flyway_schema_history', 'goose_db_version', 'knex_migrations', '_prisma_migrations', 'pgmigrations', 'drizzle.__drizzle_migrations'];

/** `schema_migrations(version)`, one row per applied revision (the harness's own layout for plain SQL, and dbmate's). */
export class RowPerRevision implements VersionTable {
  readonly stampCovers = 'revision';
  readonly tables: readonly string[];
  constructor(
    readonly name: string,
    private readonly createSql: string,
  ) {
    this.tables = [name];
  }

  prepare(): SqlCommand[] {
    return [{ sql: this.createSql }];
  }

  record(migration: Migration): SqlCommand[] {
    return [{ sql: `INSERT INTO ${this.name} (version) VALUES ($1)`, parameters: [migration.revision] }];
  }

  stamp(revision: string): SqlCommand[] {
    return [...this.prepare(), { sql: `INSERT INTO ${this.name} (version) VALUES ($1) ON CONFLICT DO NOTHING`, parameters: [revision] }];
  }

  async applied(client: pg.ClientBase, chain: readonly Migration[]): Promise<Set<string>> {
    const rows = await readIfExists<{ version: string }>(client, this.name, `SELECT version FROM ${this.name}`);
    const recorded = new Set(rows.map((row) => normalise(row.version)));
    return new Set(chain.filter((m) => recorded.has(normalise(m.revision))).map((m) => m.revision));
  }
}

/** Alembic's `alembic_version(version_num)`: one row naming the head; every ancestor is applied too. */
export class AlembicVersion implements VersionTable {
  readonly name = 'alembic_version';
  readonly tables = ['alembic_version'];
  readonly stampCovers = 'ancestors';

  prepare(): SqlCommand[] {
    return [];
  }

  record(): SqlCommand[] {
    return []; // the offline SQL of each revision writes alembic_version itself
  }

  /** `alembic stamp`: the table created if needed, then its one row set to the revision. */
  stamp(revision: string): SqlCommand[] {
    return [
      { sql: 'CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))' },
      { sql: 'DELETE FROM alembic_version' },
      { sql: 'INSERT INTO alembic_version (version_num) VALUES ($1)', parameters: [revision] },
    ];
  }

  async applied(client: pg.ClientBase, chain: readonly Migration[]): Promise<Set<string>> {
    const heads = (await readIfExists<{ version_num: string }>(client, this.name, `SELECT version_num FROM ${this.name}`)).map((row) => row.version_num);
    const applied = new Set<string>();
    for (const head of heads) {
      const index = chain.findIndex((m) => m.revision === head);
      for (const migration of chain.slice(0, index + 1)) applied.add(migration.revision);
    }
    return applied;
  }
}

export async function readIfExists<T extends pg.QueryResultRow>(client: pg.ClientBase, table: string, sql: string): Promise<T[]> {
  const exists = await client.query<{ oid: string | null }>('SELECT to_regclass($1)::text AS oid', [table]);
  if (exists.rows[0]!.oid === null) return [];
  return (await client.query<T>(sql)).rows;
}

export function normalise(revision: string): string {
  return /^\d+$/.test(revision) ? BigInt(revision).toString() : revision;
}
