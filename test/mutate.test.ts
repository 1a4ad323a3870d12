import { describe, expect, it } from 'vitest';
import { mutate } from '../harness/mutate/mutate.ts';
import suite from './fixtures/suites/items-qty/suite.ts';
import { SEED, testConfig } from './helpers.ts';

describe(`mutation testing classifies each mutant (seed ${SEED})`, () => {
  it('killed by a property, equivalent by PostgreSQL\'s own evaluation, or survived a deliberately weak suite', async () => {
    const report = await mutate(suite, testConfig(suite, { groups: ['migration', 'writes'], runs: 15 }));
    const status = Object.fromEntries(report.mutants.map((m) => [m.description, m.status]));
    // NULL > 0 is NULL, which a CHECK lets through: without `qty IS NULL` nothing changes
    expect(status['drop disjunct qty IS NULL']).toBe('equivalent');
    // the suite never writes 0 or 1: a moved boundary goes unseen
    expect(status['> → >= in qty > 0']).toBe('survived');
    expect(status['0 → 1']).toBe('survived');
    const killed = report.mutants.filter((m) => !['drop disjunct qty IS NULL', '> → >= in qty > 0', '0 → 1'].includes(m.description));
    expect(killed.map((m) => `${m.description}: ${m.status}`)).toEqual(killed.map((m) => `${m.description}: killed`));
    expect(killed.map((m) => m.description)).toEqual(expect.arrayContaining([
      'drop disjunct qty > 0', 'OR → AND in qty > 0 OR qty IS NULL', 'IS NULL → IS NOT NULL in qty IS NULL', 'NULL comparison trap: qty = NULL for qty IS NULL',
      'DROP CONSTRAINT IF EXISTS qty_positive → DROP CONSTRAINT', 'remove the DROP of qty_positive', 'add qty_positive NOT VALID', expect.stringMatching(/^split the file by COMMIT; BEGIN;/),
    ]));
    for (const m of killed) expect(m.killedBy?.property, m.description).toBeTruthy();
    expect(report.mutants.find((m) => m.description === 'add qty_positive NOT VALID')!.killedBy).toMatchObject({ property: 'outcome-as-expected' });
    expect(report.score).toBeCloseTo(killed.length / (report.mutants.length - 1), 6);
  });
});
