import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScratchDatabases, PostgresServer } from '../harness/postgres/index.ts';
import { inOneTransaction } from '../harness/sessions/index.ts';
import { firstAccepted, putBackFrom, readBackStatement, readBaseRows, resetQueries, resetStatement, rowsToWorld, type BaseRows } from '../harness/groups/writes/table-rows.ts';
import type { TableSpec } from '../harness/suite.ts';
import { sharedServer } from './helpers.ts';

const TABLES: TableSpec[] = [
  { name: 'parents', key: 'id', columns: { email: 'email' } },
  { name: 'children', key: 'id', columns: { parent: 'parent_id' } },
];

/** Putting the starting rows back after a run: the one statement, and the ordered statements it falls back to. */
describe('the rows a run changed are put back', () => {
  let server: PostgresServer;
  let databases: ScratchDatabases;
  let client: pg.Client;
  let base: BaseRows;

  beforeAll(async () => {
    ({ server, databases } = await sharedServer());
    client = new pg.Client(server.connectionConfig(await databases.create('reset_rows')));
    await client.connect();
    await client.query('CREATE TABLE parents (id int PRIMARY KEY, email text NOT NULL UNIQUE)');
    await client.query('CREATE TABLE children (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES parents)');
    await client.query("INSERT INTO parents VALUES (1, 'a'), (2, 'b')");
    await client.query('INSERT INTO children VALUES (10, 1), (11, 2)');
    base = await readBaseRows(client, TABLES);
  });
  afterAll(async () => {
    await client.end();
    await databases.close();
  });

  const readBack = async () => {
    const statement = readBackStatement(TABLES);
    return rowsToWorld((await client.query(statement.text, statement.values([]))).rows);
  };
  const table = async () => (await client.query('SELECT p.id, p.email, c.id AS child, c.parent_id FROM parents p FULL JOIN children c ON c.parent_id = p.id ORDER BY 1, 3')).rows;
  let before: unknown[];
  beforeAll(async () => {
    before = await table();
  });

  it('a starting row pointed at a row of the run: one statement puts it back (the ordered deletes would meet the foreign key)', async () => {
    await client.query("INSERT INTO parents VALUES (3, 'c')");
    await client.query('UPDATE children SET parent_id = 3 WHERE id = 10');
    const after = await readBack();
    await expect(inOneTransaction(client, resetQueries(base, after))).rejects.toMatchObject({ code: '23503' });
    await client.query(resetStatement(base, after)!);
    expect(await table()).toEqual(before);
  });

  it("a starting row's UNIQUE value taken by a row of the run: the one statement is refused, the ordered statements put it back", async () => {
    await client.query("UPDATE parents SET email = 'z' WHERE id = 1");
    await client.query("INSERT INTO parents VALUES (4, 'a')");
    await client.query('DELETE FROM children WHERE id = 11');
    const after = await readBack();
    await expect(client.query(resetStatement(base, after)!)).rejects.toMatchObject({ code: '23505' });
    await inOneTransaction(client, resetQueries(base, after));
    expect(await table()).toEqual(before);
  });

  it('nothing to put back after a run that changed nothing', async () => {
    const after = await readBack();
    expect(resetStatement(base, after)).toBeUndefined();
    expect(resetQueries(base, after)).toEqual([]);
  });

  it('putBackFrom tries the one statement first and builds the ordered ones only when it is refused; both refused, the last refusal is thrown', async () => {
    const attempts: number[] = [];
    const attempt = async (queries: (pg.QueryConfig | string)[]) => {
      attempts.push(queries.length);
      await inOneTransaction(client, queries);
    };
    // the foreign-key shape: the one statement is accepted
    await client.query("INSERT INTO parents VALUES (5, 'e')");
    await client.query('UPDATE children SET parent_id = 5 WHERE id = 11');
    await firstAccepted(putBackFrom(base, await readBack())!, attempt);
    expect(attempts).toEqual([1]);
    expect(await table()).toEqual(before);
    // the UNIQUE shape: refused, then the ordered statements
    attempts.length = 0;
    await client.query("UPDATE parents SET email = 'y' WHERE id = 2");
    await client.query("INSERT INTO parents VALUES (6, 'b')");
    await firstAccepted(putBackFrom(base, await readBack())!, attempt);
    expect(attempts).toEqual([1, 3]);
    expect(await table()).toEqual(before);
    // a constraint no starting row can meet any more: both ways refused, the error is the server's
    attempts.length = 0;
    await client.query("UPDATE parents SET email = 'x' WHERE id = 1");
    await client.query("ALTER TABLE parents ADD CONSTRAINT not_a CHECK (email <> 'a') NOT VALID");
    await expect(firstAccepted(putBackFrom(base, await readBack())!, attempt)).rejects.toMatchObject({ code: '23514' });
    expect(attempts).toHaveLength(2);
    await client.query('ALTER TABLE parents DROP CONSTRAINT not_a');
    await firstAccepted(putBackFrom(base, await readBack())!, attempt);
    expect(await table()).toEqual(before);
  });
});
