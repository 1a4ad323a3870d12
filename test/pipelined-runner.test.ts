import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScratchDatabases, PostgresServer } from '../harness/postgres/index.ts';
import { inOneTransaction, runPipelined, runProgram, runSequentially, runStatements, type Program, type SessionStep, type StepEvent } from '../harness/sessions/index.ts';
import { sharedServer } from './helpers.ts';

const step = (name: string, sql: string, extra: Partial<SessionStep> = {}): SessionStep => ({ name, sql, ...extra });

/** What a run left to compare: each event's step, outcome and transaction status, and the table. */
function shape(events: StepEvent[]): string[] {
  return events.map((e) => `${e.step.name} ${e.outcome.kind === 'ok' ? `ok ${e.outcome.rows}` : `${e.outcome.sqlstate}`} ${e.txStatus}`);
}

describe('pipelined runners: the events and the effects of the sequential runner, fewer round trips', () => {
  let server: PostgresServer;
  let databases: ScratchDatabases;
  let database: string;
  let client: pg.Client;

  beforeAll(async () => {
    ({ server, databases } = await sharedServer());
    database = await databases.create('pipelined');
    client = new pg.Client(server.connectionConfig(database));
    await client.connect();
    await client.query('CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL CHECK (v >= 0))');
  });
  afterAll(async () => {
    await client.end();
    await databases.close();
  });

  const rows = async () => (await client.query<{ id: number; v: number }>('SELECT id, v FROM t ORDER BY id')).rows.map((r) => `${r.id}:${r.v}`);

  /** Runs a program both ways from the same rows; returns both shapes and both tables. */
  async function bothWays(program: Program, run: (c: pg.Client, p: Program) => Promise<StepEvent[]>, before = 'BEGIN'): Promise<{ sequential: string[]; pipelined: string[]; tables: string[][] }> {
    const once = async (runner: (c: pg.Client, p: Program) => Promise<StepEvent[]>) => {
      await client.query('TRUNCATE t');
      await client.query('INSERT INTO t VALUES (1, 1)');
      if (before) await client.query(before);
      const events = await runner(client, program);
      await client.query('COMMIT').catch(() => undefined);
      return { events: shape(events), table: await rows() };
    };
    const sequential = await once((c, p) => runSequentially(c, p));
    const pipelined = await once(run);
    return { sequential: sequential.events, pipelined: pipelined.events, tables: [sequential.table, pipelined.table] };
  }

  it('a plan that stops on error, inside a transaction: the steps after the failing one are neither recorded nor applied, and its recovery runs', async () => {
    const recovery = 'ROLLBACK TO SAVEPOINT u; RELEASE SAVEPOINT u';
    const plan: Program = {
      stopOnError: true,
      steps: [step('sp', 'SAVEPOINT u', { recovery }), step('a', 'INSERT INTO t VALUES (2, 2)', { recovery }), step('bad', 'INSERT INTO t VALUES (3, -1)', { recovery }), step('c', 'INSERT INTO t VALUES (4, 4)', { recovery }), step('rel', 'RELEASE SAVEPOINT u', { recovery })],
    };
    const { sequential, pipelined, tables } = await bothWays(plan, (c, p) => runProgram(c, p));
    expect(pipelined).toEqual(sequential);
    expect(pipelined).toEqual(['sp ok 0 T', 'a ok 1 T', 'bad 23514 E']);
    expect(tables[1]).toEqual(tables[0]);
    expect(tables[1]).toEqual(['1:1']);
  });

  it('a plan whose transaction control would act in an aborted block (ROLLBACK TO, COMMIT) waits for the steps before it', async () => {
    // sent behind the failure, the ROLLBACK TO would recover the block, and what follows would run and stay
    const recovery = 'ROLLBACK TO SAVEPOINT s';
    const plan: Program = { stopOnError: true, steps: [step('sp', 'SAVEPOINT s', { recovery }), step('a', 'INSERT INTO t VALUES (2, 2)', { recovery }), step('bad', 'UPDATE t SET v = -1 WHERE id = 1', { recovery }), step('back', 'ROLLBACK TO SAVEPOINT s', { recovery }), step('rel', 'RELEASE SAVEPOINT s', { recovery }), step('c', 'INSERT INTO t VALUES (4, 4)', { recovery })] };
    const { sequential, pipelined, tables } = await bothWays(plan, (c, p) => runProgram(c, p));
    expect(pipelined).toEqual(sequential);
    expect(pipelined).toEqual(['sp ok 0 T', 'a ok 1 T', 'bad 23514 E']);
    expect(tables[1]).toEqual(tables[0]);
    expect(tables[1]).toEqual(['1:1']);
  });

  it('outside a transaction (autocommit), a plan that stops on error never sends the step after a failure', async () => {
    const plan: Program = { stopOnError: true, steps: [step('a', 'INSERT INTO t VALUES (2, 2)'), step('bad', 'INSERT INTO t VALUES (3, -1)'), step('c', 'INSERT INTO t VALUES (4, 4)')] };
    const { sequential, pipelined, tables } = await bothWays(plan, (c, p) => runProgram(c, p), '');
    expect(pipelined).toEqual(sequential);
    expect(tables[1]).toEqual(['1:1', '2:2']);
  });

  it("a writer's program: every step in its own implicit transaction, a failure in the middle changes nothing for the others; `before` and `then` go in the same round trip", async () => {
    const writer: Program = { steps: [step('a', 'INSERT INTO t VALUES (2, 2)'), step('bad', 'INSERT INTO t VALUES (3, -1)'), step('dup', 'INSERT INTO t VALUES (2, 9)'), step('c', 'UPDATE t SET v = v + 1 WHERE id = 1')] };
    const { sequential, pipelined, tables } = await bothWays(writer, async (c, p) => {
      const run = await runPipelined(c, p, async () => rows(), { before: ['UPDATE t SET v = 10 WHERE id = 1'] });
      expect(run.before).toEqual([{ kind: 'ok', rows: 1 }]);
      expect(run.after).toEqual(['1:11', '2:2']);
      await c.query('UPDATE t SET v = 1 WHERE id = 1');
      return run.events;
    }, '');
    expect(pipelined).toEqual(sequential);
    expect(pipelined).toEqual(['a ok 1 I', 'bad 23514 I', 'dup 23505 I', 'c ok 1 I']);
    expect(tables[1]).toEqual(['1:1', '2:2']);
  });

  it('a prepared statement sent twice before the server parsed it once: the second waits, so a failing parse is reported by both as the server said', async () => {
    const broken: Program = { steps: [step('x', 'INSERT INTO nope VALUES (1)', { prepare: true }), step('x', 'INSERT INTO nope VALUES (1)', { prepare: true })] };
    const run = await runPipelined(client, broken, async () => undefined);
    expect(shape(run.events)).toEqual(['x 42P01 I', 'x 42P01 I']);
  });

  it('statements in an open transaction go out at once and stop at the first refusal, which is thrown as pg raised it', async () => {
    await client.query('TRUNCATE t');
    await client.query('BEGIN');
    const error = await runStatements(client, ['INSERT INTO t VALUES (1, 1)', 'INSERT INTO t VALUES (2, -2)', 'INSERT INTO t VALUES (3, 3)']).then(() => undefined, (e: unknown) => e);
    await client.query('ROLLBACK');
    expect(error).toMatchObject({ code: '23514', constraint: 't_v_check' });
    expect(await rows()).toEqual([]);
  });

  it('one transaction in one round trip: a failure rolls all of it back and is thrown; otherwise what follows reads what it committed', async () => {
    await client.query('TRUNCATE t');
    const failed = await inOneTransaction(client, ['INSERT INTO t VALUES (1, 1)', { text: 'INSERT INTO t VALUES ($1, $2)', values: [2, -2] }, 'INSERT INTO t VALUES (3, 3)']).then(() => undefined, (e: unknown) => e);
    expect(failed).toMatchObject({ code: '23514' });
    expect(client.getTransactionStatus()).toBe('I');
    expect(await rows()).toEqual([]);
    const after = await inOneTransaction(client, ['INSERT INTO t VALUES (1, 1)', 'INSERT INTO t VALUES (3, 3)'], () => rows());
    expect(after).toEqual(['1:1', '3:3']);
    // the client is back out of pipeline mode, and works as before
    expect((client as unknown as { pipeline: boolean }).pipeline).toBe(false);
    expect((await client.query('SELECT count(*)::int AS n FROM t')).rows[0].n).toBe(2);
  });
});
