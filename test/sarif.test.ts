import { readFileSync } from 'node:fs';
import path from 'node:path';
import ajvDraft04 from 'ajv-draft-04';
import ajvFormats from 'ajv-formats';
import type { Log } from 'sarif';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { LAYOUTS, loadSqlParser, projectChain } from './chain-layouts.ts';
import { migrationsDir, ROOT, runCli, scratchDir, SEED } from './helpers.ts';

/**
 * The official SARIF 2.1.0 schema (oasis-tcs/sarif-spec, sarif-2.1/schema/sarif-schema-2.1.0.json
 * at e0583813964ec43cea53b6b531b402866095ed1f, unmodified): a draft-04 JSON schema, hence
 * ajv-draft-04, with ajv-formats for its uri and date-time formats.
 */
const schema = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/sarif/sarif-schema-2.1.0.json'), 'utf8')) as object;
const ajv = new ajvDraft04.default({ allErrors: true });
ajvFormats.default(ajv);
const validateSarif = ajv.compile<Log>(schema);

const url = () => inject('databaseUrl');

/** verify --report DIR on a chain; the SARIF it wrote, validated. */
async function sarifOf(args: string[]): Promise<{ code: number; log: Log }> {
  const report = scratchDir('ch-sarif-report-');
  const result = await runCli(['verify', '--url', url(), '--seed', String(SEED), '--report', report, ...args]);
  const log = JSON.parse(readFileSync(path.join(report, 'report.sarif'), 'utf8')) as Log;
  const valid = validateSarif(log);
  expect(valid, JSON.stringify(validateSarif.errors, null, 2)).toBe(true);
  return { code: result.code, log };
}

describe(`report.sarif, for GitHub code scanning (seed ${SEED})`, () => {
  beforeAll(() => loadSqlParser());

  it('the schema tells a valid log from an invalid one (the check can fail)', () => {
    const log = { version: '2.1.0', runs: [{ tool: { driver: { name: 'x' } }, results: [{ ruleId: 'r', level: 'error', message: { text: 'm' } }] }] };
    expect(validateSarif(log)).toBe(true);
    expect(validateSarif({ ...log, version: undefined })).toBe(false);
    expect(validateSarif({ ...log, runs: [{ ...log.runs[0], results: [{ ruleId: 'r', level: 'fatal', message: { text: 'm' } }] }] })).toBe(false);
  });

  it('a chain that holds: a valid log with no results', async () => {
    const dir = LAYOUTS.goose(scratchDir('ch-sarif-goose-'), projectChain('correct'));
    const { code, log } = await sarifOf(['--migrations', dir, '--group', 'writes', '--states', 'prod-drift', '--runs', '5']);
    expect(code).toBe(0);
    expect(log.runs[0]!.results).toEqual([]);
  });

  it('the old predicate shipped: the result is at the line of the ADD CONSTRAINT in the last revision, with the counterexample and the replay command', async () => {
    const dir = LAYOUTS.flyway(scratchDir('ch-sarif-flyway-'), projectChain('old-predicate'));
    const { code, log } = await sarifOf(['--migrations', dir, '--group', 'writes', '--states', 'prod-drift', '--runs', '30']);
    expect(code).toBe(1);
    const [result] = log.runs[0]!.results!;
    expect(result!.ruleId).toBe('write-path-agrees-with-model');
    expect(log.runs[0]!.tool.driver.rules!.map((r) => r.id)).toContain(result!.ruleId);
    const location = result!.locations![0]!.physicalLocation!;
    const file = location.artifactLocation!.uri!;
    expect(path.isAbsolute(file)).toBe(false);
    expect(file).toMatch(/V31__outcome_requires_inference\.sql$/);
    const lines = readFileSync(path.resolve(ROOT, file), 'utf8').split('\n');
    expect(lines[location.region!.startLine! - 1]).toMatch(/^ALTER TABLE routing_outcomes$/);
    expect(lines[location.region!.startLine!]).toMatch(/ADD CONSTRAINT outcome_requires_inference_when_model_chosen/);
    expect(result!.message.text).toMatch(/23514 outcome_requires_inference_when_model_chosen/);
    expect(result!.message.text).toMatch(/replay: npx constraint-harness verify --states prod-drift --group writes/);
  });

  it('a migration that fails: the result is at the file and line of the failing statement', async () => {
    const dir = migrationsDir({
      '0001_t.sql': 'CREATE TABLE t (id int PRIMARY KEY, n int);',
      '0002_check.sql': '-- the new rule\nALTER TABLE t ADD CONSTRAINT n_positive CHECK (n > 0);\n\nALTER TABLE t ADD CONSTRAINT n_positive CHECK (n > 0);\n',
    });
    const { code, log } = await sarifOf(['--suite', 'auto', '--migrations', dir, '--group', 'migration', '--runs', '3']);
    expect(code).toBe(1);
    const located = log.runs[0]!.results!.map((r) => [path.basename(r.locations![0]!.physicalLocation!.artifactLocation!.uri!), r.locations![0]!.physicalLocation!.region!.startLine]);
    expect(located).toContainEqual(['0002_check.sql', 4]);
  });
});
