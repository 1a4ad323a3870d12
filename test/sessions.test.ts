import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScratchDatabases, PostgresServer } from '../harness/postgres/index.ts';
import { InterleavingExecutor, type Program, type SessionStep } from '../harness/sessions/index.ts';
import { sharedServer } from './helpers.ts';

const step = (name: string, sql: string): SessionStep => ({ name, sql });
const program = (...steps: SessionStep[]): Program => ({ steps });

describe('the interleaving executor on plain tables', () => {
  let server: PostgresServer;
  let databases: ScratchDatabases;
  let database: string;

  beforeAll(async () => {
    ({ server, databases } = await sharedServer());
    database = await databases.create('sessions');
    const client = new pg.Client(server.connectionConfig(database));
    await client.connect();
    await client.query('CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)');
    await client.end();
  });
  afterAll(() => databases.close());

  async function reset(rows: number[]): Promise<pg.Client> {
    const client = new pg.Client(server.connectionConfig(database));
    await client.connect();
    await client.query('TRUNCATE t');
    for (const id of rows) await client.query('INSERT INTO t VALUES ($1, 0)', [id]);
    return client;
  }

  it('sees a step blocked on another session\'s row lock and collects it after the lock is released', async () => {
    const client = await reset([1]);
    const executor = await InterleavingExecutor.connect(server.connectionConfig(database), 2);
    const programs = [
      program(step('begin', 'BEGIN'), step('set1', 'UPDATE t SET v = 1 WHERE id = 1'), step('commit', 'COMMIT')),
      program(step('begin', 'BEGIN'), step('set2', 'UPDATE t SET v = 2 WHERE id = 1'), step('commit', 'COMMIT')),
    ];
    const events = await executor.run(programs, [0, 0, 1, 1, 0, 1]);
    await executor.close();
    const order = events.map((e) => `s${e.session + 1}-${e.step.name}${e.blocked ? '*' : ''}`);
    expect(order).toEqual(['s1-begin', 's1-set1', 's2-begin', 's1-commit', 's2-set2*', 's2-commit']);
    const blocked = events.find((e) => e.step.name === 'set2')!;
    expect(blocked).toMatchObject({ blocked: true, blockedBy: [0], outcome: { kind: 'ok', rows: 1 }, issued: 3 });
    // it was sent before s1's COMMIT and its result came after: the two overlapped in time
    const commit = events.find((e) => e.session === 0 && e.step.name === 'commit')!;
    expect(blocked.start).toBeLessThan(commit.start);
    expect(blocked.end).toBeGreaterThan(commit.start);
    expect((await client.query('SELECT v FROM t WHERE id = 1')).rows[0].v).toBe(2);
    await client.end();
  });

  it('turns a two-row deadlock into 40P01 in exactly one session and finishes', async () => {
    const client = await reset([1, 2]);
    const executor = await InterleavingExecutor.connect(server.connectionConfig(database), 2);
    const programs = [
      program(step('begin', 'BEGIN'), step('a1', 'UPDATE t SET v = 1 WHERE id = 1'), step('a2', 'UPDATE t SET v = 1 WHERE id = 2'), step('commit', 'COMMIT')),
      program(step('begin', 'BEGIN'), step('b2', 'UPDATE t SET v = 2 WHERE id = 2'), step('b1', 'UPDATE t SET v = 2 WHERE id = 1'), step('commit', 'COMMIT')),
    ];
    const events = await executor.run(programs, [0, 1, 0, 1, 0, 1, 0, 1]);
    await executor.close();
    const deadlocks = events.filter((e) => e.outcome.kind === 'error' && e.outcome.sqlstate === '40P01');
    expect(deadlocks).toHaveLength(1);
    expect(events).toHaveLength(8);
    const survivor = deadlocks[0]!.session === 0 ? 2 : 1;
    expect((await client.query('SELECT array_agg(v ORDER BY id) AS v FROM t')).rows[0].v).toEqual([survivor, survivor]);
    await client.end();
  });

  it('cancels a runaway step at its timeout and reports it', async () => {
    await (await reset([])).end();
    const executor = await InterleavingExecutor.connect(server.connectionConfig(database), 1, { stepTimeoutMs: 300 });
    const events = await executor.run([program(step('sleep', 'SELECT pg_sleep(30)'), step('after', 'SELECT 1'))], [0, 0]);
    await executor.close();
    // what the user sees: the step was cancelled by the executor's timeout (57014, timedOut), not by
    // the server's own 30 s, and the session went on; no duration is compared with a bound taken
    // from the timer that fired (a timer may fire a fraction of a millisecond early by the clock)
    expect(events[0]).toMatchObject({ timedOut: true, outcome: { kind: 'error', sqlstate: '57014' } });
    expect(events[0]!.outcome.kind === 'error' && events[0]!.outcome.message).toMatch(/canceling statement due to user request/);
    expect(events[1]!.outcome).toEqual({ kind: 'ok', rows: 1 });
  });
});

describe('a program that stops at its first error, as a deploy tool does', () => {
  it('sends the failing step\'s recovery when a transaction is open, and nothing after it', async () => {
    const { server, databases } = await sharedServer();
    const database = await databases.create('stop');
    const executor = await InterleavingExecutor.connect(server.connectionConfig(database), 1);
    try {
      const deploy: Program = { stopOnError: true, steps: [step('begin', 'BEGIN'), { name: 'bad', sql: 'SELECT 1/0', recovery: 'ROLLBACK' }, step('never', 'SELECT 1')] };
      const events = await executor.run([deploy], [0, 0, 0]);
      expect(events.map((e) => `${e.step.name}:${e.txStatus}`)).toEqual(['begin:T', 'bad:E']);
    } finally {
      await executor.close();
      await databases.close();
    }
  });
});
