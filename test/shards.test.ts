import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { writeReports } from '../harness/report/write-reports.ts';
import { verify } from '../harness/verify/verify.ts';
import type { VerifyReport } from '../harness/verify/verify-report.ts';
import suite from '../properties/routing-outcomes/suite.ts';
import { runCli, scratchDir, SEED, testConfig } from './helpers.ts';

const STATES = ['fresh', 'prod-drift', 'unrepaired-orphans', 'stamped-not-run'];
const config = (shard?: { index: number; count: number }) => testConfig(suite, { groups: ['migration', 'writes'], states: STATES, runs: 3, ...(shard ? { shard } : {}) });

/** A report without what differs between two runs of the same work: timings, when it finished, how it was split. */
function comparable(report: VerifyReport): unknown {
  return JSON.parse(JSON.stringify(report, (key, value) => (['ms', 'finishedAt', 'shard'].includes(key) ? undefined : value)));
}

describe(`shards across CI machines (seed ${SEED})`, () => {
  it('four shards merged give the report of one run: same states, properties, verdict and counts', async () => {
    const whole = await verify(suite, config());
    const dirs: string[] = [];
    for (let index = 1; index <= 4; index++) {
      const dir = scratchDir(`ch-shard-${index}-`);
      if (index < 4) {
        const report = await verify(suite, config({ index, count: 4 }));
        expect(report.shard).toMatchObject({ index, count: 4, states: STATES });
        await writeReports(dir, report);
      } else {
        // the last through the command line, as a CI job runs it
        const cli = await runCli(['verify', '--url', inject('databaseUrl'), '--group', 'migration,writes', '--states', STATES.join(','), '--runs', '3', '--seed', String(SEED), '--shard', '4/4', '--report', dir]);
        expect(cli.code, cli.stderr).toBe(0);
      }
      dirs.push(dir);
    }
    const out = scratchDir('ch-merged-');
    const merged = await runCli(['merge-reports', ...dirs, '--report', out, '--json']);
    expect(merged.code, merged.stderr).toBe(0);
    const report = JSON.parse(merged.stdout) as VerifyReport;
    expect(comparable(report)).toEqual(comparable(whole));
    expect(JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8'))).toEqual(report);
    expect(readFileSync(path.join(out, 'report.md'), 'utf8')).toMatch(/^# constraint-harness: PASSED/);
    const cases = (readFileSync(path.join(out, 'junit.xml'), 'utf8').match(/<testcase /g) ?? []).length;
    expect(cases).toBe(whole.states.reduce((n, s) => n + s.properties.length + (s.skipped?.length ?? 0), 0));

    // a shard missing, or one from another run, is a usage error
    const missing = await runCli(['merge-reports', ...dirs.slice(0, 3)]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/shard\(s\) 4\/4 missing/);
    const other = scratchDir('ch-shard-other-');
    await writeReports(other, await verify(suite, testConfig(suite, { groups: ['migration'], states: STATES, runs: 3, seed: SEED + 1, shard: { index: 4, count: 4 } })));
    const mixed = await runCli(['merge-reports', ...dirs.slice(0, 3), other]);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/not shards of one run: different seed/);
  });
});
