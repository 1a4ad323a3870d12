import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatConsoleReport } from '../harness/report/console-report.ts';
import { formatMarkdownReport } from '../harness/report/markdown-report.ts';
import type { CaseStep, ConcurrentCase } from '../harness/suite.ts';
import { verify } from '../harness/verify/verify.ts';
import accounts, { type AccountOp } from './fixtures/suites/accounts-unique-email/suite.ts';
import { SEED, testConfig } from './helpers.ts';

const op = (o: AccountOp): CaseStep<AccountOp> => ({ kind: 'op', op: o });
/**
 * Two gateway transactions that update two accounts in opposite orders while the UNIQUE is
 * deployed: s1 locks a1, s2 locks a2, each then waits for the other's row, and the server picks
 * one of them as the deadlock victim (40P01). The deploy (session m) runs after them.
 */
const crossedUpdates: ConcurrentCase<AccountOp> = {
  setup: [{ kind: 'signUp', a: 1, tenant: 'initech', email: 'ada@example.com' }, { kind: 'signUp', a: 2, tenant: 'umbrella', email: 'bob@example.com' }],
  sessions: [
    [{ kind: 'begin' }, op({ kind: 'changeEmail', a: 1, existing: false, email: 'cyd@example.com' }), op({ kind: 'changeEmail', a: 2, existing: false, email: 'cyd@example.com' }), { kind: 'commit' }],
    [{ kind: 'begin' }, op({ kind: 'changeEmail', a: 2, existing: false, email: 'ada@example.com' }), op({ kind: 'changeEmail', a: 1, existing: false, email: 'bob@example.com' }), { kind: 'commit' }],
  ],
  labels: ['a1 then a2', 'a2 then a1'],
  schedule: [0, 0, 1, 1, 0, 1],
};
const suite = { ...accounts, concurrency: { ...accounts.concurrency!, cases: fc.constant(crossedUpdates), deployStates: ['clean'] } };

describe(`writers deadlocked during the live deploy are counted and shown (seed ${SEED})`, () => {
  it('counted, with the first run that shows it, on the live-deploy line, in report.md and the JSON; not a failure by default', async () => {
    const report = await verify(suite, testConfig(suite, { groups: ['concurrency'], states: ['clean'], runs: 3 }));
    const deploy = report.states[0]!.properties.find((p) => p.name === 'live-deploy-keeps-valid-writes')!;
    expect(deploy.ok, formatConsoleReport(report)).toBe(true);
    expect(deploy.liveDeploy).toMatchObject({ runs: 3, writerDeadlocks: 3, writerCancellations: 0, runsWithAborts: 3 });
    expect(deploy.liveDeploy!.example).toMatchObject({ path: '0', aborted: [expect.stringMatching(/^s[12] changeEmail\(a[12], \S+\): 40P01 deadlock detected$/)] });
    expect(deploy.liveDeploy!.example!.steps).toEqual(expect.arrayContaining(['s1: a1 then a2', 's2: a2 then a1', 'm: deploy the migration', expect.stringMatching(/^permutation: /)]));
    const line = 'live deploy: writers deadlocked 3 time(s) and were cancelled 0 time(s), in 3 of 3 run(s)';
    expect(formatConsoleReport(report)).toContain(line);
    expect(formatMarkdownReport(report)).toContain(`- live-deploy-keeps-valid-writes: ${line}`);
    expect(JSON.parse(JSON.stringify(report)).states[0].properties.find((p: { name: string }) => p.name === 'live-deploy-keeps-valid-writes').liveDeploy.writerDeadlocks).toBe(3);
  });

  it('--max-writer-deadlocks makes them a verdict, with the schedule that shows one and its replay', async () => {
    const config = testConfig(suite, { groups: ['concurrency'], states: ['clean'], runs: 3, maxWriterDeadlocks: 2 });
    const report = await verify(suite, config);
    const deploy = report.states[0]!.properties.find((p) => p.name === 'live-deploy-keeps-valid-writes')!;
    expect(deploy.ok).toBe(false);
    expect(report.ok).toBe(false);
    expect(deploy.counterexample).toMatchObject({ expected: expect.stringMatching(/^at most 2 writer statement\(s\) deadlocked or cancelled/), actual: '3 deadlocked and 0 cancelled, in 3 of 3 run(s)' });
    expect(deploy.counterexample!.steps).toEqual(expect.arrayContaining(['m: deploy the migration']));
    expect(deploy.counterexample!.replay).toMatch(/--property live-deploy-keeps-valid-writes --seed \d+ --path 0 .*--max-writer-deadlocks 0/);
  });
});
