import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { connectClient } from '../harness/postgres/index.ts';
import { refused } from '../harness/suite.ts';
import { matches, outcomeOfError, type ExpectedOutcome } from '../harness/sessions/index.ts';
import { sharedServer } from './helpers.ts';

/** The `refused` helpers say what PostgreSQL really raises. */
describe('refused: the errors a suite expects, as PostgreSQL raises them', () => {
  let client: pg.Client;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const { databases } = await sharedServer();
    const name = await databases.create('refused');
    drop = () => databases.close();
    client = await connectClient(databases.server.connectionConfig(name));
    await client.query(`
      CREATE TABLE parents (id bigint PRIMARY KEY);
      CREATE TABLE kept (id bigint PRIMARY KEY, parent bigint REFERENCES parents (id) ON DELETE RESTRICT, qty int NOT NULL CONSTRAINT kept_qty CHECK (qty > 0));
      CREATE TABLE checked (id bigint PRIMARY KEY, parent bigint REFERENCES parents (id));
      INSERT INTO parents VALUES (1), (2);
      INSERT INTO kept VALUES (1, 1, 1);
      INSERT INTO checked VALUES (1, 2);`);
  });
  afterAll(async () => {
    await client.end();
    await drop();
  });

  const refusedWith = async (sql: string, expected: ExpectedOutcome) => {
    const outcome = await client.query(sql).then(
      () => ({ kind: 'ok' as const, rows: 1 }),
      (error: unknown) => outcomeOfError(error),
    );
    expect(matches(expected, outcome), JSON.stringify(outcome)).toBe(true);
  };

  it('ON DELETE RESTRICT raises 23001 (23503 before PostgreSQL 18), NO ACTION 23503', async () => {
    await refusedWith('DELETE FROM parents WHERE id = 1', refused.referenced('kept_parent_fkey', 'restrict'));
    await refusedWith('DELETE FROM parents WHERE id = 2', refused.referenced('checked_parent_fkey'));
  });

  it('a row that breaks a CHECK, the key and a foreign key at once is refused by the CHECK', async () => {
    await refusedWith('INSERT INTO kept VALUES (1, 99, 0)', refused.check('kept_qty'));
    await refusedWith('INSERT INTO kept VALUES (1, 99, 1)', refused.unique('kept_pkey'));
    await refusedWith('INSERT INTO kept VALUES (2, 99, 1)', refused.foreignKey('kept_parent_fkey'));
    await refusedWith('INSERT INTO kept VALUES (3, 1, NULL)', refused.notNull());
  });
});
