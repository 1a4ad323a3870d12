import { beforeAll, describe, expect, inject, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { Chain, Migrator } from '../harness/migrate/index.ts';
import { withClient } from '../harness/postgres/index.ts';
import { alembicProject, LAYOUTS, loadSqlParser, projectChain } from './chain-layouts.ts';
import { migrationsDir, runCli, scratchDir, SEED, sharedServer } from './helpers.ts';
import { REQUIRED } from './real-tools.ts';

const url = () => inject('databaseUrl');

/** Each format with the runner its tool uses by default. */
const FORMATS = [
  ['prisma', 'prisma-migrate-deploy'],
  ['drizzle', 'drizzle-migrate'],
  ['node-pg-migrate', 'node-pg-migrate'],
  ['flyway', 'flyway'],
  ['golang-migrate', 'golang-migrate'],
  ['goose', 'goose'],
  ['sqitch', 'sqitch'],
] as const;

const HAS_ALEMBIC = (() => {
  try {
    execFileSync(process.env.ALEMBIC || 'alembic', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

interface Report {
  ok: boolean;
  migrations: { format: string; runner: string; to: string };
  states: { name: string; expect: string; migration: string; error?: string; properties: { name: string; group: string; ok: boolean; counterexample?: { steps: string[]; actual: string; replay?: string } }[] }[];
}

async function verifyJson(args: string[]): Promise<{ code: number; report: Report; stderr: string }> {
  const result = await runCli(['verify', '--url', url(), '--seed', String(SEED), '--json', ...args]);
  let report: Report;
  try {
    report = JSON.parse(result.stdout) as Report;
  } catch {
    throw new Error(`verify printed no JSON (exit ${result.code}):\n${result.stderr}\n${result.stdout}`);
  }
  return { code: result.code, report, stderr: result.stderr };
}

/** The old predicate as the last revision: a valid two-phase write refused, in one step. */
function expectOneStepCounterexample(report: Report): void {
  const writes = report.states.flatMap((s) => s.properties).find((p) => p.group === 'writes' && !p.ok);
  expect(writes, JSON.stringify(report.states.map((s) => [s.name, s.properties.map((p) => [p.name, p.ok])]))).toBeDefined();
  expect(writes!.counterexample!.steps).toHaveLength(1);
  expect(writes!.counterexample!.actual).toMatch(/23514 outcome_requires_inference_when_model_chosen/);
  expect(writes!.counterexample!.replay).toMatch(/^npx constraint-harness verify /);
}

describe(`the project's chain in every tool's layout (seed ${SEED})`, () => {
  beforeAll(() => loadSqlParser());

  for (const [format, runner] of FORMATS) {
    it(`${format}: verifies as the layout has it (exit 0), the JSON naming the format and the runner`, async () => {
      const dir = LAYOUTS[format](scratchDir(`ch-${format}-`), projectChain('correct'));
      const { code, report, stderr } = await verifyJson(['--migrations', dir, '--group', 'migration,writes', '--runs', '3']);
      expect(code, stderr).toBe(0);
      expect(report.migrations).toMatchObject({ format, runner });
      expect(report.states.find((s) => s.name === 'unrepaired-orphans')!.migration).toBe('failed-atomically');
      expect(report.states.find((s) => s.name === 'prod-drift')!.migration).toBe('converged');
      // a deploy killed where the tool's mark of a revision in progress stays behind: its next deploy refuses
      const marked = report.states.filter((s) => s.expect === 'refuse');
      if (format === 'golang-migrate' || format === 'prisma') expect(marked.length).toBeGreaterThan(0);
      for (const state of marked) expect(state.migration, state.name).toBe('refused');
    });

    it(`${format}: the old predicate as its last revision exits 1, with the one-step counterexample`, async () => {
      const dir = LAYOUTS[format](scratchDir(`ch-${format}-old-`), projectChain('old-predicate'));
      const { code, report, stderr } = await verifyJson(['--migrations', dir, '--group', 'writes', '--states', 'prod-drift', '--runs', '30']);
      expect(code, stderr).toBe(1);
      expect(report.migrations).toMatchObject({ format, runner });
      expectOneStepCounterexample(report);
    });
  }

  describe.skipIf(!HAS_ALEMBIC && !REQUIRED)('alembic, straight from the project (--alembic-ini)', () => {
    it('verifies (exit 0): the harness runs alembic upgrade A:B --sql for each revision itself', async () => {
      const ini = alembicProject(scratchDir('ch-alembic-ini-'), projectChain('correct'));
      const { code, report, stderr } = await verifyJson(['--alembic-ini', ini, '--group', 'migration,writes', '--runs', '3']);
      expect(code, stderr).toBe(0);
      expect(report.migrations).toMatchObject({ format: 'alembic', runner: 'psql', to: '20260528_0031' });
    });

    it('the old predicate as its last revision exits 1, with the one-step counterexample at the revision file', async () => {
      const ini = alembicProject(scratchDir('ch-alembic-ini-old-'), projectChain('old-predicate'));
      const { code, report, stderr } = await verifyJson(['--alembic-ini', ini, '--group', 'writes', '--states', 'prod-drift', '--runs', '30']);
      expect(code, stderr).toBe(1);
      expect(report.migrations).toMatchObject({ format: 'alembic', runner: 'psql' });
      expectOneStepCounterexample(report);
    });
  });
});

describe('golang-migrate: a database left dirty by a failed revision', () => {
  beforeAll(() => loadSqlParser());

  it('records dirty = true when a revision fails, and the next up refuses before it applies anything, as golang-migrate does', async () => {
    const { databases } = await sharedServer();
    const dir = LAYOUTS['golang-migrate'](scratchDir('ch-golang-dirty-'), projectChain('correct'));
    const migrator = new Migrator(await Chain.load(dir), 'golang-migrate');
    const database = await databases.create('golang_dirty');
    await withClient(databases.server.connectionConfig(database), async (client) => {
      expect((await migrator.migrateTo(client, '30')).error).toBeUndefined();
      await client.query(`INSERT INTO routing_outcomes (id, request_id, decision_rule, outcome_status) VALUES (gen_random_uuid(), 'orphan', 'cheapest_clearing_floor', 'provider_error')`);
      const failed = await migrator.migrateTo(client, '31');
      expect(failed.error?.sqlstate).toBe('23514');
      expect((await client.query('SELECT version, dirty FROM schema_migrations')).rows).toEqual([{ version: '31', dirty: true }]);
      expect([...(await migrator.applied(client))]).toEqual(['0001', '0002', '0030']);
      // the orphan repaired, the next up still refuses: the dirty flag, not the data, stops it (migrate.go Up: ErrDirty)
      await client.query(`DELETE FROM routing_outcomes WHERE request_id = 'orphan'`);
      const again = await migrator.migrateTo(client, '31');
      expect(again.error?.refused).toBe(true);
      expect(again.error?.message).toMatch(/Dirty database version 31\. Fix and force version\./);
      expect((await client.query('SELECT version, dirty FROM schema_migrations')).rows).toEqual([{ version: '31', dirty: true }]);
      // `migrate force 30`, then up: it converges
      await migrator.stamp(client, '30');
      expect((await migrator.migrateTo(client, '31')).error).toBeUndefined();
      expect((await client.query('SELECT version, dirty FROM schema_migrations')).rows).toEqual([{ version: '31', dirty: false }]);
    });
    await databases.drop(database);
  });
});

describe('chain layouts read as their tools read them (no server)', () => {
  beforeAll(() => loadSqlParser());

  it('the command line offers exactly the runners and formats harness/migrate has', async () => {
    const { RUNNER_NAMES, FORMAT_CHOICES } = await import('../harness/cli/options.ts');
    const { RUNNERS, FORMAT_NAMES } = await import('../harness/migrate/index.ts');
    expect([...RUNNER_NAMES].sort()).toEqual([...RUNNERS].sort());
    expect([...FORMAT_CHOICES].sort()).toEqual([...FORMAT_NAMES].sort());
  });

  it('Flyway: versions compare as numbers (1.10 after 1.9, V1_1 is 1.1), repeatables come after them by description', async () => {
    const dir = migrationsDir({ 'V1__a.sql': 'SELECT 1;', 'V1.9__b.sql': 'SELECT 2;', 'V1.10__c.sql': 'SELECT 3;', 'V1_1__d.sql': 'SELECT 4;', 'R__z_view.sql': 'SELECT 5;', 'R__m_view.sql': 'SELECT 6;', 'README.md': 'not a migration' });
    const chain = await Chain.load(dir);
    expect(chain.format).toBe('flyway');
    expect(chain.migrations.map((m) => m.revision)).toEqual(['1', '1.1', '1.9', '1.10', 'R__m_view', 'R__z_view']);
    expect(chain.last.revision).toBe('1.10');
    expect(chain.upTo('1.9').map((m) => m.revision)).toEqual(['1', '1.1', '1.9', 'R__m_view', 'R__z_view']);
    expect(chain.resolve({ relative: 'before-target' }, '1.10')).toBe('1.9');
    expect(chain.get('1.1').versionData).toMatchObject({ version: '1.1', description: 'd', script: 'V1_1__d.sql' });
  });

  it('Flyway refuses two files of one version (1 and 1.0), and a file mixing transactional and non-transactional statements', async () => {
    await expect(Chain.load(migrationsDir({ 'V1__a.sql': 'SELECT 1;', 'V1.0__b.sql': 'SELECT 2;' }))).rejects.toThrow(/more than one migration with version 1/);
    await expect(Chain.load(migrationsDir({ 'V1__a.sql': 'CREATE TABLE t (x int);\nCREATE INDEX CONCURRENTLY i ON t (x);' }))).rejects.toThrow(/both transactional and non-transactional statements/);
    const alone = await Chain.load(migrationsDir({ 'V1__a.sql': 'CREATE TABLE t (x int);', 'V2__i.sql': 'CREATE INDEX CONCURRENTLY i ON t (x);' }));
    expect(alone.get('2').transactional).toBe(false);
    // executeInTransaction=false: in the script's .sql.conf (flyway-core SqlScriptMetadata), or inline as Redgate documents it
    const configured = await Chain.load(migrationsDir({ 'V1__a.sql': 'CREATE TABLE t (x int);', 'V2__b.sql': 'UPDATE t SET x = 1;', 'V2__b.sql.conf': 'executeInTransaction=false\n', 'V3__c.sql': '-- flyway:executeInTransaction=false\nUPDATE t SET x = 2;' }));
    expect(configured.migrations.map((m) => [m.revision, m.transactional])).toEqual([['1', true], ['2', false], ['3', false]]);
    // and a mixed file is accepted once the setting says how to run it
    expect((await Chain.load(migrationsDir({ 'V1__a.sql': '-- flyway:executeInTransaction=false\nCREATE TABLE t (x int);\nCREATE INDEX CONCURRENTLY i ON t (x);' }))).get('1').transactional).toBe(false);
  });

  it('goose: a statement ends at a line ending in `;`, comments before it are not sent, StatementBegin/End hold one', async () => {
    const dir = migrationsDir({
      '00001_a.sql': '-- +goose Up\n-- a comment goose drops\nCREATE TABLE t (\n  x int -- kept: inside the statement\n);\n-- +goose StatementBegin\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n-- +goose StatementEnd\n\n-- +goose Down\nDROP TABLE t;\n',
      '00002_b.sql': '-- +goose Up\n-- +goose NO TRANSACTION\nCREATE INDEX CONCURRENTLY i ON t (x);\n',
    });
    const chain = await Chain.load(dir);
    expect(chain.format).toBe('goose');
    expect(chain.get('1').messages!.map((m) => m.sql)).toEqual(['CREATE TABLE t (\n  x int -- kept: inside the statement\n);', 'CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;']);
    expect(chain.get('1').statements.map((s) => s.line)).toEqual([3, 7]);
    expect(chain.get('2').transactional).toBe(false);
  });
});
