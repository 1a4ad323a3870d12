import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScratchDatabases } from '../harness/postgres/index.ts';
import { DeployCopy } from '../harness/groups/concurrency/deploy-copy.ts';
import { putBackFrom, readBack, readBaseRows, type BaseRows, type ReadBack } from '../harness/groups/writes/table-rows.ts';
import type { TableSpec } from '../harness/suite.ts';
import { sharedServer } from './helpers.ts';

const TABLES: TableSpec[] = [{ name: 'accounts', key: 'id', columns: { email: 'email' } }];

/**
 * The database a live deploy (or its replay) runs on, put back after each run: what a run can
 * leave behind (a constraint, rows taking a starting row's UNIQUE value, an advanced sequence)
 * is gone before the next run, or the copy is made again.
 */
describe('a deploy copy is put back as it was, or made again', () => {
  let databases: ScratchDatabases;
  let source: string;
  let base: BaseRows;
  let lastReadBack: ReadBack | undefined;
  const copies: DeployCopy[] = [];

  beforeAll(async () => {
    ({ databases } = await sharedServer());
    source = await databases.create('deploy_copy_source');
    const client = new pg.Client(databases.server.connectionConfig(source));
    await client.connect();
    await client.query('CREATE TABLE accounts (id serial PRIMARY KEY, email text NOT NULL UNIQUE)');
    await client.query("INSERT INTO accounts (email) VALUES ('a'), ('b')");
    base = await readBaseRows(client, TABLES);
    await client.end();
  });
  afterAll(async () => {
    for (const copy of copies) await copy.close();
    await databases.close();
  });

  const putBackAfter = (after: ReadBack) => putBackFrom(base, after) ?? [() => []];
  const copyOf = () => {
    const copy = new DeployCopy(databases, { name: source, readBack: (client) => readBack(client, TABLES), putBackAfter, putBackAfterLastRun: () => lastReadBack && putBackAfter(lastReadBack) }, [], 1);
    copies.push(copy);
    return copy;
  };
  const state = async (client: pg.Client) => ({
    rows: (await client.query('SELECT id, email FROM accounts ORDER BY id')).rows,
    constraints: (await client.query("SELECT conname FROM pg_constraint WHERE conrelid = 'accounts'::regclass ORDER BY 1")).rows,
    next: (await client.query("SELECT last_value, is_called FROM accounts_id_seq")).rows,
  });

  it("a migration's constraint, a starting row's UNIQUE value taken, a sequence advanced: all put back, the same copy used again", async () => {
    const copy = copyOf();
    const before = await state((await copy.executor()).control);
    for (let run = 0; run < 3; run++) {
      await copy.onSessions(1, async ([session]) => {
        await session!.query("ALTER TABLE accounts ADD CONSTRAINT short_email CHECK (length(email) < 5)");
        await session!.query("UPDATE accounts SET email = 'z' WHERE id = 1");
        await session!.query("INSERT INTO accounts (email) VALUES ('a'), ('c')");
      });
      expect(await state((await copy.executor()).control)).toEqual(before);
    }
    expect(copy.counts).toEqual({ runs: 3, copies: 1 });
  });

  it('from the live read-back too (the live deploy puts its copy back from the run its target read)', async () => {
    const copy = copyOf();
    const control = (await copy.executor()).control;
    const before = await state(control);
    await control.query("INSERT INTO accounts (email) VALUES ('d')");
    lastReadBack = await readBack(control, TABLES);
    await copy.putBack();
    expect(await state((await copy.executor()).control)).toEqual(before);
    expect(copy.counts).toEqual({ runs: 1, copies: 1 });
  });

  it('a run that added a column cannot be put back: the next run gets a fresh copy, as the source is', async () => {
    const copy = copyOf();
    const before = await state((await copy.executor()).control);
    await copy.onSessions(1, async ([session]) => {
      await session!.query('ALTER TABLE accounts ADD COLUMN note text');
      await session!.query("INSERT INTO accounts (email) VALUES ('e')");
    });
    const control = (await copy.executor()).control;
    expect(await state(control)).toEqual(before);
    expect((await control.query("SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'accounts'")).rows[0].n).toBe(2);
    expect(copy.counts).toEqual({ runs: 1, copies: 2 });
  });

  it('work that fails still leaves the copy put back (a transaction left open is rolled back first)', async () => {
    const copy = copyOf();
    const before = await state((await copy.executor()).control);
    await expect(copy.onSessions(1, async ([session]) => {
      await session!.query('BEGIN');
      await session!.query("INSERT INTO accounts (email) VALUES ('f')");
      await session!.query('SELECT 1/0');
    })).rejects.toMatchObject({ code: '22012' });
    await copy.onSessions(1, async ([session]) => {
      await session!.query("INSERT INTO accounts (email) VALUES ('g')");
    });
    expect(await state((await copy.executor()).control)).toEqual(before);
    expect(copy.counts.copies).toBe(1);
  });

  it('a run that leaves another catalog than the last one is still put back exactly, planned afresh from the catalog it left', async () => {
    const copy = copyOf();
    const before = await state((await copy.executor()).control);
    // the second run adds what the first did and one more: the first's plan would drop only the first (the copy then thrown away)
    for (const added of [['one'], ['one', 'two'], ['two'], ['one', 'two']]) {
      await copy.onSessions(1, async ([session]) => {
        for (const name of added) await session!.query(`ALTER TABLE accounts ADD CONSTRAINT ${name} CHECK (length(email) < 5)`);
        await session!.query("INSERT INTO accounts (email) VALUES ('h')");
      });
      expect(await state((await copy.executor()).control)).toEqual(before);
    }
    expect(copy.counts).toEqual({ runs: 4, copies: 1 });
  });
});
