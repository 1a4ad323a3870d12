import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { formatConsoleReport } from '../harness/report/console-report.ts';
import { verify } from '../harness/verify/verify.ts';
import suite from '../properties/routing-outcomes/suite.ts';
import { ROOT, runCli, scratchDir, SEED, testConfig } from './helpers.ts';
import { alembicPython } from './real-tools.ts';

/**
 * The chains real tools write are verified as they come out of dbmate and Alembic in
 * real-tools.test.ts. Where Alembic is not installed, its offline SQL is still covered by this
 * hand-copied sample of what it prints.
 */
describe.skipIf(alembicPython() !== undefined)(`offline SQL as Alembic prints it, without Alembic here (seed ${SEED})`, () => {
  it('every state does what it must, and the write path holds', async () => {
    const report = await verify(suite, testConfig(suite, { migrationsDir: path.join(ROOT, 'test/fixtures/alembic'), groups: ['migration', 'writes'], runs: 3 }));
    expect(report.ok, formatConsoleReport(report)).toBe(true);
    expect(report.states.find((s) => s.name === 'unrepaired-orphans')!.migration).toBe('failed-atomically');
    expect(report.states.find((s) => s.name === 'stamped-not-run')!.migration).toBe('drift');
  });
});

describe(`reports and secrets (seed ${SEED})`, () => {
  it('writes report.md, report.json and junit.xml, and no output anywhere carries the password', async () => {
    const url = inject('databaseUrl');
    const password = decodeURIComponent(new URL(url).password);
    expect(password.length).toBeGreaterThan(8);
    const dir = scratchDir('ch-report-');
    const result = await runCli(['verify', '--url', url, '--to', '0030', '--states', 'prod-drift,stamped-not-run', '--runs', '20', '--report', dir, '--json']);
    expect(result.code).toBe(1);
    const json = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'));
    expect(json).toEqual(JSON.parse(result.stdout));
    const md = readFileSync(path.join(dir, 'report.md'), 'utf8');
    expect(md).toMatch(/^# constraint-harness: FAILED/);
    expect(md).toMatch(/\| PostgreSQL \| \d+\.\d+ \(url\) \|/);
    expect(md).toMatch(/\| state \| expect \| migration \| outcome-as-expected \|/);
    expect(md).toMatch(/\| prod-drift \| converge \| drift \| ❌ \*\*FAIL\*\*/);
    expect(md).toMatch(/```diff\n[~+] constraint public\.routing_outcomes\.outcome_requires_inference_when_model_chosen/);
    expect(md).toMatch(/### prod-drift \/ write-path-agrees-with-model \(writes\)[\s\S]*replay: +npx constraint-harness verify --states prod-drift --group writes --property write-path-agrees-with-model --seed \d+ --path/);
    const junit = readFileSync(path.join(dir, 'junit.xml'), 'utf8');
    expect(junit).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="constraint-harness" tests="\d+" failures="[1-9]\d*">/);
    expect(junit).toMatch(/<testcase classname="constraint-harness.prod-drift" name="write-path-agrees-with-model \(writes\)" time="[\d.]+">\n\s+<failure message="expected commit, actual 23514 outcome_requires_inference_when_model_chosen"/);
    expect(junit).toMatch(/<skipped message="writes and concurrency: drift is expected/);
    for (const text of [result.stdout, result.stderr, md, junit, JSON.stringify(json)]) expect(text).not.toContain(password);
    expect(result.stderr).toMatch(/postgres:\/\/[^:]+:\*\*\*@/);
  });

  it('names the target constraint as PostgreSQL prints it', async () => {
    const dir = scratchDir('ch-report-');
    const result = await runCli(['verify', '--url', inject('databaseUrl'), '--group', 'migration', '--states', 'fresh', '--runs', '1', '--report', dir]);
    expect(result.code).toBe(0);
    expect(existsSync(path.join(dir, 'junit.xml'))).toBe(true);
    expect(readFileSync(path.join(dir, 'report.md'), 'utf8')).toContain(
      "- `public.routing_outcomes.outcome_requires_inference_when_model_chosen`: `CHECK (((outcome_status IS NULL) OR (decision_rule_override IS NOT NULL) OR (decision_rule <> 'cheapest_clearing_floor'::text) OR (inference_id IS NOT NULL)))`",
    );
  });
});
