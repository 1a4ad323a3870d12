import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SetupError } from '../harness/errors.ts';
import { Chain, Migrator, type PlanMode, type RunnerName } from '../harness/migrate/index.ts';
import type { ScratchDatabases } from '../harness/postgres/index.ts';
import { MIGRATIONS, ROOT, migrationsDir, sharedServer } from './helpers.ts';

describe('reading a migration directory', () => {
  it('reads the repo chain (plain SQL files) in revision order', async () => {
    const chain = await Chain.load(MIGRATIONS);
    expect(chain.format).toBe('plain');
    expect(chain.migrations.map((m) => m.revision)).toEqual(['0001', '0002', '0030', '0031']);
    const last = chain.migrations[3]!;
    expect(last.statements.map((s) => s.kind)).toEqual(['AlterTableStmt', 'AlterTableStmt']);
    expect(last.statements[0]!.sql).toMatch(/^ALTER TABLE routing_outcomes\s+DROP CONSTRAINT IF EXISTS/);
    expect(last.statements[1]!.line).toBe(9);
  });

  it('keeps transaction-control statements as written: a file is never rewritten', async () => {
    const dir = migrationsDir({ '0001_a.sql': "CREATE TABLE a (x text DEFAULT 'a;b');\nCOMMIT;\nBEGIN;\nCREATE TABLE b (id int);\n" });
    const [migration] = (await Chain.load(dir)).migrations;
    expect(migration!.statements.map((s) => s.transactionKind ?? s.kind)).toEqual(['CreateStmt', 'TRANS_STMT_COMMIT', 'TRANS_STMT_BEGIN', 'CreateStmt']);
  });

  it('reads dbmate files: the up block (marker line included, as dbmate sends it), at the right lines', async () => {
    const chain = await Chain.load(path.join(ROOT, 'test/fixtures/dbmate'));
    expect(chain.format).toBe('dbmate');
    expect(chain.versionTable.name).toBe('schema_migrations');
    const last = chain.migrations[3]!;
    expect(last.statements.map((s) => s.sql.split('\n')[0])).toEqual(['ALTER TABLE routing_outcomes', 'ALTER TABLE routing_outcomes']);
    expect(last.statements[1]!.line).toBe(10);
    expect(last.upText).toMatch(/^-- migrate:up/);
    expect(chain.migrations.flatMap((m) => m.statements).some((s) => /^DROP TABLE/.test(s.sql))).toBe(false);
  });

  it('reads Alembic offline SQL: revision ids from the file, chain order from "Running upgrade A -> B", whatever the file names', async () => {
    const revision = (down: string, up: string, body: string) => `BEGIN;\n\n-- Running upgrade ${down} -> ${up}\n\n${body}\n\nUPDATE alembic_version SET version_num='${up}' WHERE alembic_version.version_num = '${down}';\n\nCOMMIT;\n`;
    const dir = migrationsDir({
      'zz_first.sql': "BEGIN;\n\nCREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));\n\n-- Running upgrade  -> 20260101_0001\n\nCREATE TABLE t (id int);\n\nINSERT INTO alembic_version (version_num) VALUES ('20260101_0001') RETURNING alembic_version.version_num;\n\nCOMMIT;\n",
      'aa_third.sql': revision('20260102_0002', '20260528_0031', 'ALTER TABLE t ADD COLUMN z int;'),
      'mm_second.sql': revision('20260101_0001', '20260102_0002', 'ALTER TABLE t ADD COLUMN y int;'),
    });
    const chain = await Chain.load(dir);
    expect(chain.format).toBe('alembic');
    expect(chain.migrations.map((m) => m.revision)).toEqual(['20260101_0001', '20260102_0002', '20260528_0031']);
    expect(chain.migrations[2]!.statements.map((s) => s.transactionKind ?? s.kind)).toEqual(['TRANS_STMT_BEGIN', 'AlterTableStmt', 'UpdateStmt', 'TRANS_STMT_COMMIT']);
    expect(chain.resolve({ relative: 'before-target' }, '20260528_0031')).toBe('20260102_0002');
  });

  it('refuses an Alembic file that holds several revisions, saying how to split it', async () => {
    const dir = migrationsDir({ 'all.sql': '-- Running upgrade  -> a1\nCREATE TABLE a (id int);\n-- Running upgrade a1 -> b2\nCREATE TABLE b (id int);\nUPDATE alembic_version SET version_num=\'b2\';\n' });
    await expect(Chain.load(dir)).rejects.toThrow(/all\.sql holds 2 Alembic revisions \(a1, b2\): write one file per revision, e\.g\. alembic upgrade base:a1 --sql/);
  });

  it('honours dbmate transaction:false', async () => {
    const dir = migrationsDir({ '0001_idx.sql': '-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t (x);\n-- migrate:down\nDROP INDEX i;\n' });
    const [migration] = (await Chain.load(dir)).migrations;
    expect(migration!.transactional).toBe(false);
    expect(migration!.statements).toHaveLength(1);
    expect(migration!.statements[0]!.outsideTransaction).toBe(true);
  });

  it.each([
    ['a missing directory', '/nonexistent/migrations', /does not exist/],
    ['an empty directory', migrationsDir({}), /has no migration files/],
    ['two files with one revision', migrationsDir({ '0001_a.sql': 'SELECT 1;', '1_b.sql': 'SELECT 2;' }), /two migration files have revision 1: 0001_a.sql and 1_b.sql/],
  ])('reports %s as a setup error naming the cause', async (_label, dir, message) => {
    const error = await Chain.load(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SetupError);
    expect((error as Error).message).toMatch(message);
  });
});

describe('applying a chain as its runner does', () => {
  let databases: ScratchDatabases;
  let config: (db: string) => pg.ClientConfig;

  beforeAll(async () => {
    const shared = await sharedServer();
    databases = shared.databases;
    config = (db) => shared.server.connectionConfig(db);
  });
  afterAll(() => databases.close());

  async function withDatabase<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client(config(await databases.create('migrate')));
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }
  const tables = async (client: pg.Client) => (await client.query("SELECT string_agg(tablename, ',' ORDER BY tablename) AS t FROM pg_tables WHERE schemaname = 'public'")).rows[0].t as string;

  it('applies up to a revision, records each, and skips recorded ones', async () => {
    const migrator = new Migrator(await Chain.load(MIGRATIONS), 'psql-single-transaction');
    await withDatabase(async (client) => {
      expect((await migrator.migrateTo(client, '0030')).applied).toEqual(['0001', '0002', '0030']);
      expect([...(await migrator.applied(client))]).toEqual(['0001', '0002', '0030']);
      expect((await migrator.migrateTo(client, '0031')).applied).toEqual(['0031']);
      expect((await migrator.migrateTo(client, '0031')).applied).toEqual([]);
    });
  });

  // a file that commits its first part, then fails: what stays depends on how it is sent
  const halfCommitted = { '0001_t.sql': 'CREATE TABLE a (id int);\nCOMMIT;\nBEGIN;\nCREATE TABLE b (id int);\nSELECT 1/0;\n' };
  it.each([
    ['psql-single-transaction', 'deploy', 'a,schema_migrations'],
    ['psql', 'deploy', 'a,schema_migrations'],
    ['dbmate', 'deploy', 'a,schema_migrations'],
  ] as [RunnerName, PlanMode, string][])('%s: a COMMIT inside a file is executed, so what came before it stays when a later statement fails', async (runner, mode, left) => {
    const migrator = new Migrator(await Chain.load(migrationsDir(halfCommitted)), runner);
    await withDatabase(async (client) => {
      const run = await migrator.migrateTo(client, '0001', mode);
      expect(run.error?.sqlstate).toBe('22012');
      expect(await tables(client)).toBe(left);
      expect(client.getTransactionStatus()).toBe('I');
      expect([...(await migrator.applied(client))]).toEqual([]);
    });
  });

  it('dbmate sends the up block as one query: after an inner COMMIT the rest is one implicit transaction', async () => {
    const dir = migrationsDir({ '0001_t.sql': '-- migrate:up\nCREATE TABLE a (id int);\nCOMMIT;\nCREATE TABLE b (id int);\nCREATE TABLE c (id int);\nSELECT 1/0;\n-- migrate:down\n' });
    const [dbmate, psql] = [new Migrator(await Chain.load(dir), 'dbmate'), new Migrator(await Chain.load(dir), 'psql')];
    await withDatabase(async (client) => {
      // PostgreSQL does not say which statement of a multi-statement query failed (no position here)
      expect((await dbmate.migrateTo(client, '0001')).error?.message).toMatch(/^0001_t\.sql: 22012 division by zero\n {2}statement: its up block, sent as one query/);
      expect(await tables(client)).toBe('a,schema_migrations');
    });
    await withDatabase(async (client) => {
      await psql.migrateTo(client, '0001');
      expect(await tables(client)).toBe('a,b,c,schema_migrations');
    });
  });

  it('sends a file the parser rejects to the server, which reports the syntax error at its line', async () => {
    const dir = migrationsDir({ '0001_a.sql': '-- migrate:up\nCREATE TABLE a (id int);\n\nCREAT TABLE x ();\n' });
    const migrator = new Migrator(await Chain.load(dir), 'dbmate');
    await withDatabase(async (client) => {
      const run = await migrator.migrateTo(client, '0001');
      expect(run.error?.message).toContain('0001_a.sql:4: 42601 syntax error at or near "CREAT"');
      expect(await client.query("SELECT to_regclass('a') AS a").then((r) => r.rows[0].a)).toBeNull();
    });
  });

  it('rejects a revision the chain does not have', async () => {
    const chain = await Chain.load(MIGRATIONS);
    expect(() => chain.get('0029')).toThrow(/--to 0029 names no revision of .* \(have: 0001, 0002, 0030, 0031\)/);
  });

  it('reports a failing statement with file, line, SQLSTATE and statement, and rolls the revision back', async () => {
    const dir = migrationsDir({
      '0001_t.sql': 'CREATE TABLE t (x int);\n',
      '0002_bad.sql': 'ALTER TABLE t ADD COLUMN y int;\n\nALTER TABLE t ADD CONSTRAINT c CHECK (nope > 0);\n',
    });
    const migrator = new Migrator(await Chain.load(dir), 'psql-single-transaction');
    for (const mode of ['deploy', 'nested'] as PlanMode[]) {
      await withDatabase(async (client) => {
        if (mode === 'nested') await client.query('BEGIN');
        const { error } = await migrator.migrateTo(client, '0002', mode);
        expect(error?.sqlstate).toBe('42703');
        expect(error?.message).toContain('0002_bad.sql:3: 42703 column "nope" does not exist');
        expect(error?.message).toContain('statement: ALTER TABLE t ADD CONSTRAINT c CHECK (nope > 0)');
        const columns = await client.query("SELECT column_name FROM information_schema.columns WHERE table_name = 't'");
        expect(columns.rows.map((r) => r.column_name)).toEqual(['x']);
        expect([...(await migrator.applied(client))]).toEqual(['0001']);
        if (mode === 'nested') await client.query('ROLLBACK');
      });
    }
  });

  it('stamps as the chain\'s tool does: a row per revision, or Alembic\'s one head', async () => {
    const plain = new Migrator(await Chain.load(MIGRATIONS), 'psql-single-transaction');
    await withDatabase(async (client) => {
      await plain.migrateTo(client, '0030');
      await plain.stamp(client, '0031');
      expect([...(await plain.applied(client))]).toEqual(['0001', '0002', '0030', '0031']);
    });
    const alembic = new Migrator(await Chain.load(path.join(ROOT, 'test/fixtures/alembic')), 'psql');
    await withDatabase(async (client) => {
      await alembic.migrateTo(client, '0030');
      expect((await client.query('SELECT version_num FROM alembic_version')).rows).toEqual([{ version_num: '0030' }]);
      await alembic.stamp(client, '0031');
      expect((await client.query('SELECT version_num FROM alembic_version')).rows).toEqual([{ version_num: '0031' }]);
      expect([...(await alembic.applied(client))]).toEqual(['0001', '0002', '0030', '0031']);
    });
  });
});
