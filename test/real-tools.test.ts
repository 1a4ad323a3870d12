import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffCatalogs, snapshotCatalog, type CatalogSnapshot } from '../harness/catalog/index.ts';
import { Chain, Migrator } from '../harness/migrate/index.ts';
import { withClient, type ScratchDatabases } from '../harness/postgres/index.ts';
import { formatConsoleReport } from '../harness/report/console-report.ts';
import { verify } from '../harness/verify/verify.ts';
import { OLD_PREDICATE_SQL } from '../properties/routing-outcomes/domain.ts';
import suite from '../properties/routing-outcomes/suite.ts';
import { SEED, testConfig } from './helpers.ts';
import { alembicPython, commandAvailable, DBMATE, dbmateAvailable, nodeToolBin, repoChain, REQUIRED, run, tempDir, toolServer } from './real-tools.ts';

const HAS_DBMATE = dbmateAvailable();
const PYTHON = alembicPython();
const ORPHAN = `INSERT INTO routing_outcomes (id, request_id, decision_rule, outcome_status) VALUES (gen_random_uuid(), 'orphan', 'cheapest_clearing_floor', 'provider_error')`;

if (!HAS_DBMATE || !PYTHON) {
  const missing = [!HAS_DBMATE && 'dbmate (npm install --no-save dbmate, or set DBMATE)', !PYTHON && 'Alembic (apt-get install python3-alembic python3-psycopg2)'].filter(Boolean).join(' and ');
  console.warn(`real-tools tests: ${missing} not found${REQUIRED ? '' : ': those tests are skipped'}`);
}

/** What a deploy leaves: the catalog and the version table's rows. */
async function outcome(databases: ScratchDatabases, database: string, versionTable: string): Promise<{ catalog: CatalogSnapshot; versions: string[] }> {
  return withClient(databases.server.connectionConfig(database), async (client) => ({
    catalog: await snapshotCatalog(client),
    versions: (await client.query(`SELECT * FROM ${versionTable}`)).rows.map((row) => Object.values(row).join(',')).sort(),
  }));
}

/** Runs SQL on a database as the harness's superuser. */
async function sql(databases: ScratchDatabases, database: string, ...statements: string[]): Promise<void> {
  await withClient(databases.server.connectionConfig(database), async (client) => {
    for (const statement of statements) await client.query(statement);
  });
}

/**
 * Two databases, `<tool>_tool_<name>` for the real tool and `<tool>_harness_<name>` for the
 * harness, each brought to the same revision its own way, then `change` (drift, bad data)
 * applied to both.
 */
async function preparedPair(databases: ScratchDatabases, [toolName, name]: [string, string], change: string, bring: Record<'tool' | 'harness', (database: string) => Promise<void>>): Promise<[string, string]> {
  const [tool, ours] = [await databases.create(`${toolName}_tool_${name}`), await databases.create(`${toolName}_harness_${name}`)];
  await bring.tool(tool);
  await bring.harness(ours);
  for (const db of [tool, ours]) await sql(databases, db, change);
  return [tool, ours];
}

function expectSameDeploy(tool: { catalog: CatalogSnapshot; versions: string[] }, harness: { catalog: CatalogSnapshot; versions: string[] }): void {
  expect(diffCatalogs(tool.catalog, harness.catalog)).toEqual([]);
  expect(harness.versions).toEqual(tool.versions);
}

describe.skipIf(!HAS_DBMATE && !REQUIRED)(`a chain written and deployed by the real dbmate (seed ${SEED})`, () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof toolServer>>;
  const dbmate = (database: string, migrations: string) => run(DBMATE, ['--url', `${server.url(database)}?sslmode=disable`, '--migrations-dir', migrations, '--no-dump-schema', 'up']);

  beforeAll(async () => {
    if (!HAS_DBMATE) throw new Error(`REQUIRE_REAL_TOOLS=1 but dbmate (${DBMATE}) does not run: npm install --no-save dbmate, or set DBMATE to its binary`);
    dir = tempDir('ch-dbmate-');
    for (const revision of repoChain()) {
      // dbmate names a file by the current second: a new one per second, as a person typing them would
      await new Promise((resolve) => setTimeout(resolve, 1010 - (Date.now() % 1000)));
      const created = await run(DBMATE, ['--migrations-dir', dir, 'new', revision.name]);
      expect(created.code, created.stderr).toBe(0);
      const file = path.join(dir, readdirSync(dir).find((f) => f.endsWith(`_${revision.name}.sql`))!);
      const template = readFileSync(file, 'utf8');
      expect(template).toMatch(/^-- migrate:up\n[\s\S]*-- migrate:down\n/);
      writeFileSync(file, template.replace('-- migrate:up\n', `-- migrate:up\n${revision.up}\n`).replace(/-- migrate:down\n/, `-- migrate:down\n${revision.down}\n`));
    }
    server = await toolServer();
  }, 60_000);
  afterAll(() => server?.close());

  it('verifies as dbmate wrote it, timestamps and all: every state does what it must', async () => {
    expect(readdirSync(dir).every((f) => /^\d{14}_\w+\.sql$/.test(f))).toBe(true);
    const report = await verify(suite, testConfig(suite, { migrationsDir: dir, groups: ['migration', 'writes'], runs: 3 }));
    expect(report.ok, formatConsoleReport(report)).toBe(true);
    expect(report.migrations).toMatchObject({ format: 'dbmate', runner: 'dbmate', to: readdirSync(dir).sort().at(-1)!.slice(0, 14) });
    expect(report.states.find((s) => s.name === 'prod-drift')!.migration).toBe('converged');
    expect(report.states.find((s) => s.name === 'unrepaired-orphans')!.migration).toBe('failed-atomically');
    expect(report.states.find((s) => s.name === 'stamped-not-run')!.migration).toBe('drift');
  });

  it('catches a faulty last revision (no DROP … IF EXISTS): the deploy fails on PROD', async () => {
    const faulty = tempDir('ch-dbmate-faulty-');
    cpSync(dir, faulty, { recursive: true });
    const last = path.join(faulty, readdirSync(faulty).sort().at(-1)!);
    writeFileSync(last, readFileSync(last, 'utf8').replace(/ALTER TABLE routing_outcomes\s+DROP CONSTRAINT IF EXISTS outcome_requires_inference_when_model_chosen;\n/, ''));
    const report = await verify(suite, testConfig(suite, { migrationsDir: faulty, groups: ['migration'], states: ['prod-drift'], runs: 3 }));
    expect(report.ok).toBe(false);
    const state = report.states[0]!;
    expect(state.migration).toBe('failed-atomically');
    expect(state.error).toMatch(/42710 constraint "outcome_requires_inference_when_model_chosen" for relation "routing_outcomes" already exists/);
  });

  it('deploys exactly as dbmate does: the same catalog and schema_migrations, from empty, from PROD, and failing on orphans', async () => {
    const { databases } = server;
    const migrator = new Migrator(await Chain.load(dir), 'dbmate');
    const [before, target] = migrator.chain.migrations.slice(-2).map((m) => m.revision) as [string, string];
    const firstThree = tempDir('ch-dbmate-head-');
    for (const file of readdirSync(dir).sort().slice(0, -1)) cpSync(path.join(dir, file), path.join(firstThree, file));
    const harness = async (database: string, to: string) => withClient(databases.server.connectionConfig(database), (client) => migrator.migrateTo(client, to));

    // from an empty database
    const [toolEmpty, harnessEmpty] = [await databases.create('dbmate_tool'), await databases.create('dbmate_harness')];
    expect((await dbmate(toolEmpty, dir)).code).toBe(0);
    expect((await harness(harnessEmpty, target)).error).toBeUndefined();
    expectSameDeploy(await outcome(databases, toolEmpty, 'schema_migrations'), await outcome(databases, harnessEmpty, 'schema_migrations'));

    const atRevisionBefore = (name: string, change: string) =>
      preparedPair(databases, ['dbmate', name], change, {
        tool: async (db) => expect((await dbmate(db, firstThree)).code).toBe(0),
        harness: async (db) => expect((await harness(db, before)).error).toBeUndefined(),
      });

    // PROD: at the revision before, the old predicate hand-applied, then the deploy
    const [toolProd, harnessProd] = await atRevisionBefore('prod', OLD_PREDICATE_SQL);
    expectSameDeploy(await outcome(databases, toolProd, 'schema_migrations'), await outcome(databases, harnessProd, 'schema_migrations'));
    expect((await dbmate(toolProd, dir)).code).toBe(0);
    expect((await harness(harnessProd, target)).error).toBeUndefined();
    expectSameDeploy(await outcome(databases, toolProd, 'schema_migrations'), await outcome(databases, harnessProd, 'schema_migrations'));

    // an orphan in the data: both fail on it and leave the database as it was
    const [toolOrphan, harnessOrphan] = await atRevisionBefore('orphan', ORPHAN);
    const failed = await dbmate(toolOrphan, dir);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toMatch(/check constraint "outcome_requires_inference_when_model_chosen"/);
    expect((await harness(harnessOrphan, target)).error?.sqlstate).toBe('23514');
    expectSameDeploy(await outcome(databases, toolOrphan, 'schema_migrations'), await outcome(databases, harnessOrphan, 'schema_migrations'));
  });
});

describe.skipIf(!PYTHON && !REQUIRED)(`a chain written by the real Alembic, as its offline SQL (seed ${SEED})`, () => {
  const REVISIONS = ['20260528_0001', '20260528_0002', '20260528_0030', '20260528_0031'];
  let project: string;
  let offline: string;
  let server: Awaited<ReturnType<typeof toolServer>>;
  const alembic = (cwd: string, ...args: string[]) => run(PYTHON!, ['-m', 'alembic', ...args], { cwd });
  const setUrl = (cwd: string, url: string) => {
    const ini = path.join(cwd, 'alembic.ini');
    writeFileSync(ini, readFileSync(ini, 'utf8').replace(/^sqlalchemy\.url = .*$/m, `sqlalchemy.url = ${url}`));
  };
  /** `alembic upgrade A:B --sql`, one file per revision, named by the revision id. */
  const printOffline = async (cwd: string, out: string, revisions: readonly string[]) => {
    for (const [i, revision] of revisions.entries()) {
      const range = i === 0 ? revision : `${revisions[i - 1]}:${revision}`;
      const printed = await alembic(cwd, 'upgrade', range, '--sql');
      expect(printed.code, printed.stderr).toBe(0);
      writeFileSync(path.join(out, `${revision}.sql`), printed.stdout);
    }
  };

  beforeAll(async () => {
    if (!PYTHON) throw new Error('REQUIRE_REAL_TOOLS=1 but no Python imports alembic and psycopg2: apt-get install python3-alembic python3-psycopg2');
    project = tempDir('ch-alembic-');
    expect((await alembic(project, 'init', 'alembic')).code).toBe(0);
    setUrl(project, 'postgresql://offline@localhost/offline');
    for (const [i, revision] of repoChain().entries()) {
      const made = await alembic(project, 'revision', '-m', revision.name.replace(/_/g, ' '), '--rev-id', REVISIONS[i]!);
      expect(made.code, made.stderr).toBe(0);
      const file = path.join(project, 'alembic/versions', readdirSync(path.join(project, 'alembic/versions')).find((f) => f.startsWith(REVISIONS[i]!))!);
      const body = (text: string) => `op.execute(${JSON.stringify(text.replace(/;\s*$/, ''))})`;
      writeFileSync(file, readFileSync(file, 'utf8').replace(/def upgrade\(\)( -> None)?:\n    pass/, `def upgrade()$1:\n    ${body(revision.up)}`).replace(/def downgrade\(\)( -> None)?:\n    pass/, `def downgrade()$1:\n    ${body(revision.down)}`));
    }
    offline = tempDir('ch-alembic-sql-');
    await printOffline(project, offline, REVISIONS);
    server = await toolServer();
  }, 60_000);
  afterAll(() => server?.close());

  it('verifies the offline SQL as Alembic printed it, revision ids and all: every state does what it must', async () => {
    expect(readFileSync(path.join(offline, '20260528_0031.sql'), 'utf8')).toMatch(/-- Running upgrade 20260528_0030 -> 20260528_0031[\s\S]*UPDATE alembic_version SET version_num='20260528_0031'/);
    const report = await verify(suite, testConfig(suite, { migrationsDir: offline, groups: ['migration', 'writes'], runs: 3 }));
    expect(report.ok, formatConsoleReport(report)).toBe(true);
    expect(report.migrations).toMatchObject({ format: 'alembic', runner: 'psql', to: '20260528_0031' });
    expect(report.states.find((s) => s.name === 'unrepaired-orphans')!.migration).toBe('failed-atomically');
    expect(report.states.find((s) => s.name === 'stamped-not-run')!.migration).toBe('drift');
  });

  it('catches a faulty revision (the old predicate shipped as 20260528_0031): valid two-phase writes refused', async () => {
    const faulty = tempDir('ch-alembic-faulty-');
    cpSync(project, faulty, { recursive: true });
    const versions = path.join(faulty, 'alembic/versions');
    const file = path.join(versions, readdirSync(versions).find((f) => f.startsWith('20260528_0031'))!);
    const old = `ALTER TABLE routing_outcomes DROP CONSTRAINT IF EXISTS outcome_requires_inference_when_model_chosen; ${OLD_PREDICATE_SQL}`;
    writeFileSync(file, readFileSync(file, 'utf8').replace(/def upgrade\(\)( -> None)?:\n    op\.execute\(.*\)\n/, `def upgrade()$1:\n    op.execute(${JSON.stringify(old)})\n`));
    const out = tempDir('ch-alembic-faulty-sql-');
    await printOffline(faulty, out, REVISIONS);
    const report = await verify(suite, testConfig(suite, { migrationsDir: out, groups: ['writes'], states: ['prod-drift'], runs: 30 }));
    expect(report.ok).toBe(false);
    const writes = report.states[0]!.properties.find((p) => p.group === 'writes')!;
    expect(writes.counterexample?.actual).toMatch(/23514 outcome_requires_inference_when_model_chosen/);
  });

  it('verifies the project straight from its alembic.ini (--alembic-ini): the harness asks Alembic for the offline SQL itself', async () => {
    const ini = path.join(project, 'alembic.ini');
    const chain = await Chain.load(project, { alembicIni: ini });
    expect(chain.migrations.map((m) => m.revision)).toEqual(REVISIONS);
    // each revision is reported at its own .py file, at its upgrade()
    expect(path.basename(chain.last.file)).toMatch(/^20260528_0031_.*\.py$/);
    expect(readFileSync(chain.last.file, 'utf8').split('\n')[chain.last.statements[0]!.line - 1]).toMatch(/^def upgrade\(/);
    const report = await verify(suite, testConfig(suite, { migrationsDir: project, alembicIni: ini, groups: ['migration', 'writes'], runs: 3 }));
    expect(report.ok, formatConsoleReport(report)).toBe(true);
    expect(report.migrations).toMatchObject({ format: 'alembic', runner: 'psql', to: '20260528_0031' });
    // and deploys as `alembic upgrade head` does online
    const { databases } = server;
    const migrator = new Migrator(chain, 'psql');
    const [tool, ours] = [await databases.create('alembic_ini_tool'), await databases.create('alembic_ini_harness')];
    const toolProject = tempDir('ch-alembic-ini-online-');
    cpSync(project, toolProject, { recursive: true });
    setUrl(toolProject, server.url(tool).replace(/^postgres:/, 'postgresql+psycopg2:'));
    const upgraded = await alembic(toolProject, 'upgrade', 'head');
    expect(upgraded.code, upgraded.stderr).toBe(0);
    expect((await withClient(databases.server.connectionConfig(ours), (client) => migrator.migrateTo(client, '20260528_0031'))).error).toBeUndefined();
    expectSameDeploy(await outcome(databases, tool, 'alembic_version'), await outcome(databases, ours, 'alembic_version'));
  });

  it('deploys as `alembic upgrade` does online: the same catalog and alembic_version, from empty and from PROD', async () => {
    const { databases } = server;
    const migrator = new Migrator(await Chain.load(offline), 'psql');
    const online = async (database: string, to: string) => {
      setUrl(project, server.url(database).replace(/^postgres:/, 'postgresql+psycopg2:'));
      const upgraded = await alembic(project, 'upgrade', to);
      expect(upgraded.code, upgraded.stderr).toBe(0);
    };
    const harness = async (database: string, to: string) => withClient(databases.server.connectionConfig(database), (client) => migrator.migrateTo(client, to));

    const [toolEmpty, harnessEmpty] = [await databases.create('alembic_tool'), await databases.create('alembic_harness')];
    await online(toolEmpty, 'head');
    expect((await harness(harnessEmpty, '20260528_0031')).error).toBeUndefined();
    expectSameDeploy(await outcome(databases, toolEmpty, 'alembic_version'), await outcome(databases, harnessEmpty, 'alembic_version'));

    const [toolProd, harnessProd] = await preparedPair(databases, ['alembic', 'prod'], OLD_PREDICATE_SQL, {
      tool: (db) => online(db, '20260528_0030'),
      harness: async (db) => expect((await harness(db, '20260528_0030')).error).toBeUndefined(),
    });
    await online(toolProd, 'head');
    expect((await harness(harnessProd, '20260528_0031')).error).toBeUndefined();
    expectSameDeploy(await outcome(databases, toolProd, 'alembic_version'), await outcome(databases, harnessProd, 'alembic_version'));
  });
});

// a machine where CI asked for the real tools must have them: a skip there would hide a gap
describe.runIf(REQUIRED)('the real tools CI requires', () => {
  it('are installed', () => {
    const installed = {
      dbmate: HAS_DBMATE,
      alembic: PYTHON !== undefined && commandAvailable('alembic'),
      'drizzle-kit': nodeToolBin('drizzle-kit') !== undefined,
      'node-pg-migrate': nodeToolBin('node-pg-migrate') !== undefined,
      sqitch: commandAvailable('sqitch') && commandAvailable('psql'),
    };
    expect(installed).toEqual({ dbmate: true, alembic: true, 'drizzle-kit': true, 'node-pg-migrate': true, sqitch: true });
  });
});


