import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SetupError } from '../harness/errors.ts';
import { loadMigrations, MigrationError, Migrator } from '../harness/migrate/index.ts';
import type { ScratchDatabases } from '../harness/postgres/index.ts';
import path from 'node:path';
import { MIGRATIONS, ROOT, migrationsDir, sharedServer } from './helpers.ts';

describe('loading a migration directory', () => {
  it("reads the repo chain (plain SQL files) in revision order", async () => {
    const migrations = await loadMigrations(MIGRATIONS);
    expect(migrations.map((m) => m.revision)).toEqual(['0001', '0002', '0030', '0031']);
    const last = migrations[3]!;
    expect(last.up.map((s) => s.kind)).toEqual(['AlterTableStmt', 'AlterTableStmt']);
    expect(last.up[0]!.sql).toMatch(/^ALTER TABLE routing_outcomes\s+DROP CONSTRAINT IF EXISTS/);
    expect(last.up[1]!.line).toBe(9);
  });

  it('treats a file without markers as all up, and skips the transaction statements Alembic prints', async () => {
    const dir = migrationsDir({
      '0002_b.sql': "BEGIN;\nCREATE TABLE b (x text DEFAULT 'a;b');\nUPDATE alembic_version SET version_num='2';\nCOMMIT;\n",
      '0001_a.sql': 'CREATE TABLE a (id int);\n',
    });
    const migrations = await loadMigrations(dir);
    expect(migrations.map((m) => m.revision)).toEqual(['0001', '0002']);
    expect(migrations[1]!.up.map((s) => s.sql)).toEqual(["CREATE TABLE b (x text DEFAULT 'a;b')", "UPDATE alembic_version SET version_num='2'"]);
  });

  it('reads dbmate files: only the up part, at the right lines', async () => {
    const migrations = await loadMigrations(path.join(ROOT, 'test/fixtures/dbmate'));
    expect(migrations.map((m) => m.revision)).toEqual(['0001', '0002', '0030', '0031']);
    const last = migrations[3]!;
    expect(last.up.map((s) => s.sql.split('\n')[0])).toEqual(['ALTER TABLE routing_outcomes', 'ALTER TABLE routing_outcomes']);
    expect(last.up[1]!.line).toBe(10);
    expect(migrations.flatMap((m) => m.up).some((s) => /^DROP TABLE/.test(s.sql))).toBe(false);
  });

  it('reads the offline SQL Alembic prints: its own version table, no BEGIN/COMMIT', async () => {
    const migrations = await loadMigrations(path.join(ROOT, 'test/fixtures/alembic'));
    expect(migrations[0]!.up.map((s) => s.kind)).toEqual(['CreateStmt', 'CreateStmt', 'InsertStmt']);
    expect(migrations[3]!.up.map((s) => s.sql.slice(0, 40))).toEqual([
      'ALTER TABLE routing_outcomes DROP CONSTR',
      'ALTER TABLE routing_outcomes ADD CONSTRA',
      "UPDATE alembic_version SET version_num='",
    ]);
  });

  it('honours dbmate transaction:false', async () => {
    const dir = migrationsDir({ '0001_idx.sql': '-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t (x);\n-- migrate:down\nDROP INDEX i;\n' });
    const [migration] = await loadMigrations(dir);
    expect(migration!.transactional).toBe(false);
    expect(migration!.up).toHaveLength(1);
  });

  it.each([
    ['a missing directory', '/nonexistent/migrations', /does not exist/],
    ['an empty directory', migrationsDir({}), /has no migration files/],
    ['two files with one revision', migrationsDir({ '0001_a.sql': 'SELECT 1;', '1_b.sql': 'SELECT 2;' }), /two migration files have revision 1: 0001_a.sql and 1_b.sql/],
  ])('reports %s as a setup error naming the cause', async (_label, dir, message) => {
    const error = await loadMigrations(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SetupError);
    expect((error as Error).message).toMatch(message);
  });
});

describe('applying a chain', () => {
  let databases: ScratchDatabases;
  let config: (db: string) => pg.ClientConfig;

  beforeAll(async () => {
    const shared = await sharedServer();
    databases = shared.databases;
    config = (db) => shared.server.connectionConfig(db);
  });
  afterAll(() => databases.close());

  async function withDatabase<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const name = await databases.create('migrate');
    const client = new pg.Client(config(name));
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  it('applies up to --to, records each revision, and skips recorded ones', async () => {
    const migrator = new Migrator(await loadMigrations(MIGRATIONS));
    await withDatabase(async (client) => {
      expect((await migrator.migrate(client, '0030')).applied).toEqual(['0001', '0002', '0030']);
      expect(await migrator.appliedRevisions(client)).toEqual(['0001', '0002', '0030']);
      expect((await migrator.migrate(client, '0031')).applied).toEqual(['0031']);
      expect((await migrator.migrate(client)).applied).toEqual([]);
    });
  });

  it('sends a file the parser rejects to the server, which reports the syntax error at its line', async () => {
    const dir = migrationsDir({ '0001_a.sql': '-- migrate:up\nCREATE TABLE a (id int);\n\nCREAT TABLE x ();\n' });
    const migrator = new Migrator(await loadMigrations(dir));
    await withDatabase(async (client) => {
      const error = (await migrator.migrate(client).catch((e: unknown) => e)) as MigrationError;
      expect(error).toBeInstanceOf(MigrationError);
      expect(error.message).toContain('0001_a.sql:4: 42601 syntax error at or near "CREAT"');
      expect(await client.query("SELECT to_regclass('a') AS a").then((r) => r.rows[0].a)).toBeNull();
    });
  });

  it('rejects a --to that names no revision', async () => {
    const migrator = new Migrator(await loadMigrations(MIGRATIONS));
    expect(() => migrator.chainTo('0029')).toThrow(/--to 0029 names no revision \(have: 0001, 0002, 0030, 0031\)/);
  });

  it('reports a failing statement with file, line, SQLSTATE and statement, and rolls the revision back', async () => {
    const dir = migrationsDir({
      '0001_t.sql': 'CREATE TABLE t (x int);\n',
      '0002_bad.sql': 'ALTER TABLE t ADD COLUMN y int;\n\nALTER TABLE t ADD CONSTRAINT c CHECK (nope > 0);\n',
    });
    const migrator = new Migrator(await loadMigrations(dir));
    await withDatabase(async (client) => {
      const error = (await migrator.migrate(client).catch((e: unknown) => e)) as MigrationError;
      expect(error).toBeInstanceOf(MigrationError);
      expect(error.sqlstate).toBe('42703');
      expect(error.message).toContain('0002_bad.sql:3: 42703 column "nope" does not exist');
      expect(error.message).toContain('statement: ALTER TABLE t ADD CONSTRAINT c CHECK (nope > 0)');
      const columns = await client.query("SELECT column_name FROM information_schema.columns WHERE table_name = 't'");
      expect(columns.rows.map((r) => r.column_name)).toEqual(['x']);
      expect(await migrator.appliedRevisions(client)).toEqual(['0001']);
    });
  });
});
