import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatConsoleReport } from '../harness/report/console-report.ts';
import { formatMarkdownReport } from '../harness/report/markdown-report.ts';
import { reproduce } from '../harness/repro/repro.ts';
import { verify } from '../harness/verify/verify.ts';
import suite from './fixtures/suites/items-qty/suite.ts';
import { scratchDir, SEED, testConfig } from './helpers.ts';

/** The items chain with its revision under test replaced. */
function chainWithTarget(sql: string): string {
  const dir = scratchDir('ch-items-');
  for (const file of readdirSync(suite.migrationsDir)) copyFileSync(path.join(suite.migrationsDir, file), path.join(dir, file));
  writeFileSync(path.join(dir, '0002_qty_positive.sql'), sql);
  return dir;
}

describe(`a counterexample carries the server's own words (seed ${SEED})`, () => {
  it('a refused write: SQLSTATE, constraint, message and DETAIL in the console, the JSON, report.md and the repro script', async () => {
    // a wrong boundary: qty 5 is refused where the domain allows it
    const migrationsDir = chainWithTarget('ALTER TABLE items DROP CONSTRAINT IF EXISTS qty_positive;\nALTER TABLE items ADD CONSTRAINT qty_positive CHECK (qty > 5 OR qty IS NULL);\n');
    const config = testConfig(suite, { migrationsDir, groups: ['writes'], states: ['fresh'], runs: 100 });
    const report = await verify(suite, config);
    const failed = report.states[0]!.properties.find((p) => !p.ok)!;
    expect(failed.counterexample!.actual).toBe('23514 qty_positive');
    expect(failed.counterexample!.error).toMatchObject({ sqlstate: '23514', constraint: 'qty_positive', message: 'new row for relation "items" violates check constraint "qty_positive"', detail: expect.stringMatching(/^Failing row contains \(.*, 5\)\.$/) });
    const json = JSON.parse(JSON.stringify(report));
    expect(json.states[0].properties.find((p: { ok: boolean }) => !p.ok).counterexample.error.detail).toMatch(/^Failing row contains/);
    for (const text of [formatConsoleReport(report), formatMarkdownReport(report)]) {
      expect(text).toContain('server:   ERROR: 23514: new row for relation "items" violates check constraint "qty_positive"');
      expect(text).toMatch(/^ +DETAIL: Failing row contains \(.*, 5\)\.$/m);
    }
    const script = await reproduce(suite, config, { state: 'fresh', property: failed.name, seed: failed.seed, path: failed.path! });
    expect(script).toContain('--   ERROR: 23514: new row for relation "items" violates check constraint "qty_positive"');
    expect(script).toMatch(/^-- {3}DETAIL: Failing row contains \(.*, 5\)\.$/m);
  });

  it('a migration that fails: the HINT the server gave is shown too', async () => {
    const migrationsDir = chainWithTarget('ALTER TABLE items ADD CONSTRAINT qty_positive CHECK (qty_is_positive(qty));\n');
    const report = await verify(suite, testConfig(suite, { migrationsDir, groups: ['migration'], states: ['fresh'], runs: 1 }));
    const failed = report.states[0]!.properties.find((p) => !p.ok)!;
    expect(failed.counterexample!.error).toMatchObject({ sqlstate: '42883', message: 'function qty_is_positive(integer) does not exist', hint: expect.stringMatching(/No function matches the given name and argument types/) });
    expect(formatConsoleReport(report)).toMatch(/^ +HINT: No function matches the given name and argument types/m);
  });
});
