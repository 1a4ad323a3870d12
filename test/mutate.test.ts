import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSqlParser, splitStatements, type Migration } from '../harness/migrate/index.ts';
import { mutantsOf } from '../harness/mutate/mutants.ts';
import { formatMutationConsole } from '../harness/report/mutation-report.ts';
import items from './fixtures/suites/items-qty/suite.ts';
import jobs from './fixtures/suites/jobs-finish/suite.ts';
import { scratchDir, SEED } from './helpers.ts';
import { mutateSuite, statusOf } from './mutation-helpers.ts';

describe(`mutation testing classifies each mutant (seed ${SEED})`, () => {
  it('items-qty: equivalent exactly where proven, the moved boundaries survive a suite that never writes 0 or 1', async () => {
    const report = await mutateSuite(items, 15);
    const status = statusOf(report);
    expect(report.mutants.filter((m) => m.status === 'equivalent').map((m) => m.description)).toEqual(['drop disjunct qty IS NULL']);
    expect(status['> → >= in qty > 0']).toBe('survived');
    expect(status['0 → 1']).toBe('survived');
    expect(report.mutants.find((m) => m.description === '0 → 1')!.reason).toMatch(/judges this row differently \(qty = 1\)/);
    const killed = report.mutants.filter((m) => !['drop disjunct qty IS NULL', '> → >= in qty > 0', '0 → 1'].includes(m.description));
    expect(killed.map((m) => `${m.description}: ${m.status}`)).toEqual(killed.map((m) => `${m.description}: killed`));
    expect(killed.map((m) => m.description)).toEqual(expect.arrayContaining([
      'drop disjunct qty > 0', 'OR → AND in qty > 0 OR qty IS NULL', 'IS NULL → IS NOT NULL in qty IS NULL', 'NULL comparison trap: qty = NULL for qty IS NULL', 'remove the constraint qty_positive',
      'DROP CONSTRAINT IF EXISTS qty_positive → DROP CONSTRAINT', 'remove the DROP of qty_positive', 'add qty_positive NOT VALID', expect.stringMatching(/^split the file by COMMIT; BEGIN;/),
    ]));
    expect(report.mutants.find((m) => m.description === 'add qty_positive NOT VALID')!.killedBy).toMatchObject({ property: 'outcome-as-expected' });
    expect(report.score).toBeCloseTo(killed.length / (report.mutants.length - 1), 6);
  });

  it('a weak suite over a timestamp pair: only the truly equivalent mutant is called so; the four that differ on a job finished before it started survive and count', async () => {
    const report = await mutateSuite(jobs, 15);
    const status = statusOf(report);
    expect(report.mutants.filter((m) => m.status === 'equivalent').map((m) => m.description)).toEqual(['drop disjunct finished_at IS NULL']);
    for (const four of ['>= → <= in finished_at >= started_at', 'IS NULL → IS NOT NULL in finished_at IS NULL', 'negate finished_at IS NULL', 'NULL comparison trap: finished_at = NULL for finished_at IS NULL']) {
      expect(status[four], four).toBe('survived');
      expect(report.mutants.find((m) => m.description === four)!.reason, four).toMatch(/^not equivalent: it judges this row differently \(finished_at = .*, started_at = .*\)/);
    }
    const killed = report.mutants.filter((m) => m.status === 'killed').length;
    expect(report.score).toBeCloseTo(killed / (report.mutants.length - 1), 6);
    expect(report.score).toBeLessThan(0.75);
    expect(formatMutationConsole(report)).toMatch(/SURVIVED m\d+: >= → <= in finished_at >= started_at/);
  });

});

describe('every mutant is listed, none dropped', () => {
  it('a change that cannot be printed back as the same parse tree is a mutant not run, with the reason', async () => {
    await loadSqlParser();
    const dir = scratchDir('ch-mutants-');
    const text = 'ALTER TABLE t ADD CONSTRAINT c CHECK (x > 0);\n';
    writeFileSync(path.join(dir, '0001_c.sql'), text);
    const statements = splitStatements(text);
    // a field the grammar has no words for: printed without it, the statement parses back to another tree
    Object.assign((statements[0]!.tree as { AlterTableStmt: { cmds: { AlterTableCmd: { def: { Constraint: object } } }[] } }).AlterTableStmt.cmds[0]!.AlterTableCmd.def.Constraint, { cooked_expr: 'unprintable' });
    const migration: Migration = { revision: '0001', description: 'c', file: path.join(dir, '0001_c.sql'), statements, upText: text, upLine: 1, upOffset: 0, transactional: true };
    const mutants = mutantsOf(migration);
    expect(mutants.length).toBeGreaterThan(3);
    const unprintable = mutants.filter((m) => m.unprintable);
    expect(unprintable.length).toBeGreaterThan(0);
    for (const m of unprintable) expect(m.unprintable).toMatch(/does not print back as SQL that parses to the changed tree/);
    // the statement's removal prints (as nothing): it stays a runnable mutant
    expect(mutants.find((m) => m.description === 'remove the constraint c')!.text).toBe(';\n');
  });
});
