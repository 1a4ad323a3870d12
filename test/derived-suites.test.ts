import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { MIGRATIONS, ROOT, SEED, chainWith, runCli, testRuns } from './helpers.ts';

const CHAINS = path.join(ROOT, 'test/fixtures/chains');
const url = () => ['--url', inject('databaseUrl')];

interface Report {
  states: { name: string; migration?: { outcome: string }; properties: { name: string; ok: boolean; counterexample?: { steps: string[]; expected: string; actual: string } }[] }[];
}

/** `verify --suite auto` on a fixture chain, as a user runs it (the JSON on stdout, the derivation on stderr). */
async function verifyAuto(chain: string, extra: string[] = []): Promise<{ code: number; report: Report; stderr: string }> {
  const result = await runCli(['verify', '--suite', 'auto', '--migrations', path.join(CHAINS, chain), '--runs', String(testRuns(25)), '--seed', String(SEED), '--json', ...url(), ...extra]);
  expect(result.code, result.stderr).not.toBe(2);
  return { code: result.code, report: JSON.parse(result.stdout) as Report, stderr: result.stderr };
}

const failures = (report: Report) => report.states.flatMap((s) => s.properties.filter((p) => !p.ok).map((p) => `${s.name}/${p.name}`));

/** Each fixture chain: the correct one passes; each faulty variant is caught by the property that should catch it (in a state of the named kind). */
const MATRIX: { chain: string; runner?: string; states: RegExp; faulty: { variant: string; runner?: string; caughtBy: RegExp }[] }[] = [
  {
    chain: 'unique-over-duplicates',
    states: /violates-accounts-tenant-email-key \(fail-atomically\).*hand-applied-accounts-tenant-email-key \(converge\)/,
    faulty: [
      { variant: 'data-dependent-ddl', caughtBy: /^valid-rows\/(catalog-converges|writes-as-on-reference)$/ },
      { variant: 'commit-splits-revision', caughtBy: /^violates-accounts-tenant-email-key\/atomic-on-failure$/ },
    ],
  },
  {
    chain: 'fk-not-valid-then-validate',
    states: /violates-orders-customer-fk \(fail-atomically\)/,
    faulty: [
      { variant: 'data-dependent-ddl', caughtBy: /^valid-rows\/(catalog-converges|writes-as-on-reference)$/ },
      { variant: 'non-idempotent-after-interruption', runner: 'psql', caughtBy: /^killed-after-0003-1\/migration-reaches-target$/ },
    ],
  },
  {
    chain: 'not-null-after-backfill',
    runner: 'psql',
    states: /valid-rows \(converge\)/,
    faulty: [
      { variant: 'non-idempotent-after-interruption', runner: 'psql', caughtBy: /^killed-after-0002-1\/migration-reaches-target$/ },
      { variant: 'data-dependent-ddl', runner: 'psql', caughtBy: /^valid-rows\/catalog-converges$/ },
    ],
  },
  {
    // serial keys, and an audit trigger writing rows stamped now(): the reference must hold the
    // state's sequences, not fire the trigger when it is filled, and take the clock's values as the same
    chain: 'audit-trigger-serial',
    states: /violates-stock-qty-nonnegative \(fail-atomically\).*violates-stock-sku-per-warehouse \(fail-atomically\)/,
    // the faulty migration accepts negative stock (NOT VALID when there is some): no state violates it, the rows that differ land in valid-rows or the drifted state
    faulty: [{ variant: 'data-dependent-ddl', caughtBy: /^(valid-rows|hand-applied-stock-qty-nonnegative)\/(catalog-converges|writes-as-on-reference)$/ }],
  },
  {
    chain: 'check-two-timestamps',
    states: /violates-bookings-ends-after-start \(fail-atomically\).*hand-applied-bookings-ends-after-start \(converge\)/,
    faulty: [
      { variant: 'guard-skips-old-constraint', caughtBy: /^hand-applied-bookings-ends-after-start\/catalog-converges$/ },
      { variant: 'commit-splits-revision', caughtBy: /^violates-bookings-ends-after-start\/atomic-on-failure$/ },
    ],
  },
];

describe(`--suite auto on chains no suite was written for (seed ${SEED})`, () => {
  for (const { chain, runner, states, faulty } of MATRIX) {
    it(`${chain}: the correct chain passes, and the harness says what it derived`, async () => {
      const { code, report, stderr } = await verifyAuto(`${chain}/correct`, runner ? ['--runner', runner] : []);
      expect(failures(report), stderr).toEqual([]);
      expect(code).toBe(0);
      expect(stderr).toMatch(states);
      expect(stderr).toMatch(/interrupted-deploy states: \d+/);
      if (runner === 'psql') expect(stderr).toMatch(/interrupted-deploy states: [1-9]/);
    });
    for (const { variant, runner: faultyRunner, caughtBy } of faulty) {
      it(`${chain}: ${variant} is caught by the property that should catch it`, async () => {
        const { code, report } = await verifyAuto(`${chain}/${variant}`, faultyRunner ? ['--runner', faultyRunner] : []);
        expect(code).toBe(1);
        expect(failures(report).filter((f) => caughtBy.test(f)), failures(report).join('\n')).not.toEqual([]);
      });
    }
  }
});

describe(`AIN-300 by a declaration of 13 lines, with no domain rule (seed ${SEED})`, () => {
  const example = path.join(ROOT, 'examples/ain-300');

  it('up to 0030 it fails, with one write the drifted state refuses and the reference accepts', async () => {
    const result = await runCli(['verify', '--suite', example, '--to', '0030', '--runs', '100', '--seed', String(SEED), '--json', '--states', 'prod-drift', '--group', 'writes', ...url()]);
    expect(result.code, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout) as Report;
    const writes = report.states[0]!.properties.find((p) => p.name === 'writes-as-on-reference')!;
    expect(writes.ok).toBe(false);
    expect(writes.counterexample!.steps).toHaveLength(1);
    // an insert of such a row, or an update that makes a row one
    expect(writes.counterexample!.steps[0]).toMatch(/^(insert|update)_routing_outcomes\(.*decision_rule='cheapest_clearing_floor'/);
    expect(writes.counterexample!.expected).toBe('as on the reference: commit (1 row)');
    expect(writes.counterexample!.actual).toMatch(/^23514 outcome_requires_inference_when_model_chosen/);
  });

  it('up to 0031 it passes in every derived state and the declared drift', async () => {
    const result = await runCli(['verify', '--suite', example, '--runs', String(testRuns(25)), '--seed', String(SEED), '--json', ...url()]);
    const report = JSON.parse(result.stdout) as Report;
    expect(failures(report), result.stderr).toEqual([]);
    expect(result.code).toBe(0);
    expect(report.states.map((s) => s.name)).toEqual(expect.arrayContaining(['fresh', 'valid-rows', 'prod-drift', 'already-migrated', 'stamped-not-run']));
  });
});

describe(`a declared domain rule (seed ${SEED})`, () => {
  const declaration = path.join(ROOT, 'test/fixtures/declarations/ain-300-rule');
  const weakened = () =>
    chainWith({
      '0031_outcome_requires_inference.sql': readFileSync(path.join(MIGRATIONS, '0031_outcome_requires_inference.sql'), 'utf8').replace('OR inference_id IS NOT NULL', 'OR inference_id IS NOT NULL\n    OR attempts > 1'),
    });

  it('catches a target weaker than the domain, which the differential alone cannot (the reference is as weak)', async () => {
    const weak = weakened();
    const alone = await runCli(['verify', '--suite', 'auto', '--migrations', weak, '--runs', '100', '--seed', String(SEED), '--group', 'writes', '--states', 'fresh', '--json', ...url()]);
    expect(alone.code, alone.stderr).toBe(0);
    const ruled = await runCli(['verify', '--suite', declaration, '--migrations', weak, '--runs', '100', '--seed', String(SEED), '--group', 'writes', '--states', 'fresh', '--json', ...url()]);
    expect(ruled.code, ruled.stderr).toBe(1);
    const property = (JSON.parse(ruled.stdout) as Report).states[0]!.properties[0]!;
    expect(property.counterexample!.actual).toMatch(/the domain rule of routing_outcomes forbids this row/);
    expect(property.counterexample!.steps.some((step) => /^insert_routing_outcomes\(.*decision_rule='cheapest_clearing_floor'.*inference_id=NULL.*attempts=2/.test(step))).toBe(true);
  });

  it('passes the chain as it is', async () => {
    const result = await runCli(['verify', '--suite', declaration, '--runs', String(testRuns(25)), '--seed', String(SEED), '--json', ...url()]);
    expect(failures(JSON.parse(result.stdout) as Report), result.stderr).toEqual([]);
    expect(result.code).toBe(0);
  });
});
