import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffCatalogs, snapshotCatalog, type CatalogSnapshot } from '../harness/catalog/index.ts';
import { Chain, loadSqlParser, Migrator, splitStatements, type RunnerName } from '../harness/migrate/index.ts';
import { withClient, type ScratchDatabases } from '../harness/postgres/index.ts';
import { formatConsoleReport } from '../harness/report/console-report.ts';
import { verify } from '../harness/verify/verify.ts';
import { OLD_PREDICATE_SQL } from '../properties/routing-outcomes/domain.ts';
import suite from '../properties/routing-outcomes/suite.ts';
import { SEED, testConfig } from './helpers.ts';
import { commandAvailable, nodeToolBin, NODE_TOOLS, repoChain, REQUIRED, run, tempDir, toolServer } from './real-tools.ts';

const ORPHAN = `INSERT INTO routing_outcomes (id, request_id, decision_rule, outcome_status) VALUES (gen_random_uuid(), 'orphan', 'cheapest_clearing_floor', 'provider_error')`;
const DROP_IF_EXISTS = /ALTER TABLE routing_outcomes\s+DROP CONSTRAINT IF EXISTS outcome_requires_inference_when_model_chosen;\n/;
/** Sqitch, non-interactive: no user or system configuration, a committer named here (the harness reads the same variables). */
const SQITCH_ENV = { SQITCH_USER_CONFIG: '/dev/null', SQITCH_SYSTEM_CONFIG: '/dev/null', SQITCH_FULLNAME: 'Release Engineer', SQITCH_EMAIL: 'release@example.com' };
Object.assign(process.env, { SQITCH_FULLNAME: SQITCH_ENV.SQITCH_FULLNAME, SQITCH_EMAIL: SQITCH_ENV.SQITCH_EMAIL });

type Server = Awaited<ReturnType<typeof toolServer>>;
type Result = Awaited<ReturnType<typeof run>>;

/** A real tool: how it makes the project's chain with its own generator, and how it deploys it, all of it or up to the revision before the last. */
interface Tool {
  name: string;
  format: string;
  runner: RunnerName;
  available: boolean;
  install: string;
  make(): Promise<string>;
  deploy(server: Server, chain: string, database: string, upTo: 'before' | 'all'): Promise<Result>;
  /** The bookkeeping rows the tool and the harness must both write (columns that hold times or ids a clock picks left out). */
  versions: string;
}

const chain = repoChain();

/** The last revision's file in a chain the tool made, for the faulty variant. */
function lastRevisionFile(dir: string, pattern: RegExp): string {
  const files = readdirSync(dir, { recursive: true }).map(String);
  const found = files.filter((f) => pattern.test(path.basename(f))).sort().at(-1);
  if (!found) throw new Error(`no file in ${dir} is named ${pattern} (have: ${files.join(', ')})`);
  return path.join(dir, found);
}

const DRIZZLE_KIT = nodeToolBin('drizzle-kit');
const NODE_PG_MIGRATE = nodeToolBin('node-pg-migrate');

const TOOLS: Tool[] = [
  {
    name: 'Drizzle Kit (drizzle-kit generate --custom, drizzle-orm migrate)',
    format: 'drizzle',
    runner: 'drizzle-migrate',
    available: DRIZZLE_KIT !== undefined,
    install: 'npm install --no-save drizzle-kit drizzle-orm pg (in CH_NODE_TOOLS)',
    async make() {
      const project = tempDir('ch-drizzle-');
      writeFileSync(path.join(project, 'schema.ts'), 'export {};\n');
      const out = path.join(project, 'drizzle');
      for (const revision of chain) {
        // relative paths, as its documentation writes them: drizzle-kit 0.31 prefixes `./` to --out and cannot find its snapshots under an absolute one (and exits 0)
        const made = await run(DRIZZLE_KIT!, ['generate', '--custom', '--name', revision.name, '--dialect', 'postgresql', '--out', './drizzle', '--schema', './schema.ts'], { cwd: project });
        expect(made.code, made.stderr + made.stdout).toBe(0);
        const file = lastRevisionFile(out, new RegExp(`^\\d{4}_${revision.name}\\.sql$`));
        // a custom migration is a comment line to replace with SQL, its statements apart at breakpoints (as drizzle-kit writes them)
        writeFileSync(file, `${readFileSync(file, 'utf8')}\n${splitStatements(revision.up).map((s) => `${s.sql};`).join('\n--> statement-breakpoint\n')}`);
      }
      return out;
    },
    async deploy(server, dir, database, upTo) {
      let folder = dir;
      if (upTo === 'before') {
        folder = tempDir('ch-drizzle-head-');
        cpSync(dir, folder, { recursive: true });
        const journal = JSON.parse(readFileSync(path.join(folder, 'meta/_journal.json'), 'utf8')) as { entries: unknown[] };
        journal.entries = journal.entries.slice(0, -1);
        writeFileSync(path.join(folder, 'meta/_journal.json'), JSON.stringify(journal));
      }
      // drizzle-orm's node-postgres migrator, exactly as an application calls it
      const script = path.join(tempDir('ch-drizzle-run-'), 'migrate.cjs');
      writeFileSync(script, `const { createRequire } = require('node:module');
const need = createRequire(${JSON.stringify(path.join(NODE_TOOLS, 'package.json'))});
const { Pool } = need('pg');
const { drizzle } = need('drizzle-orm/node-postgres');
const { migrate } = need('drizzle-orm/node-postgres/migrator');
const pool = new Pool({ connectionString: process.env.DATABASE_URL });
migrate(drizzle(pool), { migrationsFolder: process.argv[2] }).then(() => pool.end(), (error) => { console.error(String(error.cause ?? error)); process.exitCode = 1; return pool.end(); });
`);
      return run(process.execPath, [script, folder], { env: { DATABASE_URL: server.url(database) } });
    },
    versions: 'SELECT hash, created_at FROM drizzle.__drizzle_migrations ORDER BY id',
  },
  {
    name: 'node-pg-migrate (create -j sql, up)',
    format: 'node-pg-migrate',
    runner: 'node-pg-migrate',
    available: NODE_PG_MIGRATE !== undefined,
    install: 'npm install --no-save node-pg-migrate pg (in CH_NODE_TOOLS)',
    async make() {
      const dir = tempDir('ch-node-pg-migrate-');
      for (const revision of chain) {
        const made = await run(NODE_PG_MIGRATE!, ['create', revision.name, '-j', 'sql', '-m', dir]);
        expect(made.code, made.stderr).toBe(0);
        const file = lastRevisionFile(dir, new RegExp(`^\\d+_${revision.name.replace(/_/g, '-')}\\.sql$`));
        const template = readFileSync(file, 'utf8');
        expect(template).toMatch(/^-- Up Migration\n[\s\S]*-- Down Migration/);
        writeFileSync(file, template.replace('-- Up Migration\n', `-- Up Migration\n${revision.up}\n`).replace('-- Down Migration', `-- Down Migration\n${revision.down}`));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return dir;
    },
    deploy: (server, dir, database, upTo) => run(NODE_PG_MIGRATE!, ['up', ...(upTo === 'before' ? [String(chain.length - 1)] : []), '-m', dir], { env: { DATABASE_URL: server.url(database) } }),
    versions: 'SELECT id, name FROM pgmigrations ORDER BY id',
  },
  {
    name: 'Sqitch (sqitch init, add, deploy)',
    format: 'sqitch',
    runner: 'sqitch',
    available: commandAvailable('sqitch') && commandAvailable('psql'),
    install: 'apt-get install sqitch libdbd-pg-perl postgresql-client',
    async make() {
      const dir = tempDir('ch-sqitch-');
      const init = await run('sqitch', ['init', 'routing', '--engine', 'pg'], { cwd: dir, env: SQITCH_ENV });
      expect(init.code, init.stderr).toBe(0);
      for (const [i, revision] of chain.entries()) {
        const added = await run('sqitch', ['add', revision.name, '-n', revision.name.replace(/_/g, ' '), ...(i > 0 ? ['-r', chain[i - 1]!.name] : [])], { cwd: dir, env: SQITCH_ENV });
        expect(added.code, added.stderr).toBe(0);
        for (const [kind, sql] of [['deploy', revision.up], ['revert', revision.down]] as const) {
          const file = path.join(dir, kind, `${revision.name}.sql`);
          const template = readFileSync(file, 'utf8');
          expect(template).toMatch(/BEGIN;\n\n-- XXX Add DDLs here\.\n\nCOMMIT;/);
          writeFileSync(file, template.replace('-- XXX Add DDLs here.', sql));
        }
      }
      return dir;
    },
    deploy: (server, dir, database, upTo) => run('sqitch', ['deploy', ...(upTo === 'before' ? ['--to', chain.at(-2)!.name] : []), `db:${server.url(database)}`], { cwd: dir, env: SQITCH_ENV }),
    versions: [
      `SELECT 'change' AS kind, change_id, script_hash, change, project, note, committer_name, committer_email, planned_at::text, planner_name, planner_email FROM sqitch.changes`,
      `SELECT 'event', event, change_id, change, project, note, array_to_string(requires, ' '), array_to_string(conflicts, ' '), array_to_string(tags, ' '), committer_name, planned_at::text FROM sqitch.events`,
      `SELECT 'dependency', change_id, type, dependency, dependency_id, NULL, NULL, NULL, NULL, NULL, NULL FROM sqitch.dependencies`,
      `SELECT 'project', project, uri, creator_name, creator_email, NULL, NULL, NULL, NULL, NULL, NULL FROM sqitch.projects`,
      `SELECT 'release', version::text, installer_name, installer_email, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM sqitch.releases`,
    ].join(' UNION ALL ') + ' ORDER BY 1, 2, 3, 4',
  },
];

for (const tool of TOOLS) {
  if (!tool.available) console.warn(`real-tools tests: ${tool.name} not found${REQUIRED ? '' : ': its tests are skipped'} (${tool.install})`);
}

/** What a deploy leaves: the catalog and the tool's bookkeeping rows. */
async function outcome(databases: ScratchDatabases, database: string, versions: string): Promise<{ catalog: CatalogSnapshot; versions: unknown[] }> {
  return withClient(databases.server.connectionConfig(database), async (client) => ({
    catalog: await snapshotCatalog(client),
    versions: (await client.query({ text: versions, rowMode: 'array' })).rows,
  }));
}

function expectSameDeploy(tool: Awaited<ReturnType<typeof outcome>>, harness: Awaited<ReturnType<typeof outcome>>): void {
  expect(diffCatalogs(tool.catalog, harness.catalog)).toEqual([]);
  expect(harness.versions).toEqual(tool.versions);
}

for (const tool of TOOLS) {
  describe.skipIf(!tool.available && !REQUIRED)(`a chain made and deployed by the real ${tool.name} (seed ${SEED})`, () => {
    let dir: string;
    let server: Server;

    beforeAll(async () => {
      if (!tool.available) throw new Error(`REQUIRE_REAL_TOOLS=1 but ${tool.name} is not installed: ${tool.install}`);
      await loadSqlParser();
      dir = await tool.make();
      server = await toolServer();
    }, 120_000);
    afterAll(() => server?.close());

    it('verifies as the tool made it, names and all: every state does what it must', async () => {
      const report = await verify(suite, testConfig(suite, { migrationsDir: dir, groups: ['migration', 'writes'], runs: 3 }));
      expect(report.ok, formatConsoleReport(report)).toBe(true);
      expect(report.migrations).toMatchObject({ format: tool.format, runner: tool.runner });
      expect(report.states.find((s) => s.name === 'unrepaired-orphans')!.migration).toBe('failed-atomically');
    });

    it('catches a faulty last revision (no DROP … IF EXISTS): the deploy fails on PROD', async () => {
      const faulty = tempDir(`ch-${tool.format}-faulty-`);
      cpSync(dir, faulty, { recursive: true });
      const migrator = new Migrator(await Chain.load(faulty), tool.runner);
      const last = migrator.chain.last.file;
      const text = readFileSync(last, 'utf8');
      expect(text).toMatch(DROP_IF_EXISTS);
      writeFileSync(last, text.replace(DROP_IF_EXISTS, ''));
      const report = await verify(suite, testConfig(suite, { migrationsDir: faulty, groups: ['migration'], states: ['prod-drift'], runs: 3 }));
      expect(report.ok).toBe(false);
      expect(report.states[0]!.error).toMatch(/42710 constraint "outcome_requires_inference_when_model_chosen" for relation "routing_outcomes" already exists/);
    });

    it('deploys exactly as the tool does: the same catalog and bookkeeping rows, from empty, from PROD, and failing on orphans', async () => {
      const { databases } = server;
      const migrator = new Migrator(await Chain.load(dir), tool.runner);
      const [before, target] = migrator.chain.migrations.slice(-2).map((m) => m.revision) as [string, string];
      const harness = (database: string, to: string) => withClient(databases.server.connectionConfig(database), (client) => migrator.migrateTo(client, to));
      const pair = async (name: string) => [await databases.create(`${tool.format.replace(/-/g, '_')}_tool_${name}`), await databases.create(`${tool.format.replace(/-/g, '_')}_harness_${name}`)] as const;

      // from an empty database
      const [toolEmpty, harnessEmpty] = await pair('empty');
      const deployed = await tool.deploy(server, dir, toolEmpty, 'all');
      expect(deployed.code, deployed.stderr + deployed.stdout).toBe(0);
      expect((await harness(harnessEmpty, target)).error).toBeUndefined();
      expectSameDeploy(await outcome(databases, toolEmpty, tool.versions), await outcome(databases, harnessEmpty, tool.versions));

      const atRevisionBefore = async (name: string, change: string) => {
        const [toolDb, harnessDb] = await pair(name);
        const head = await tool.deploy(server, dir, toolDb, 'before');
        expect(head.code, head.stderr + head.stdout).toBe(0);
        expect((await harness(harnessDb, before)).error).toBeUndefined();
        for (const db of [toolDb, harnessDb]) await withClient(databases.server.connectionConfig(db), (client) => client.query(change));
        expectSameDeploy(await outcome(databases, toolDb, tool.versions), await outcome(databases, harnessDb, tool.versions));
        return [toolDb, harnessDb] as const;
      };

      // PROD: at the revision before, the old predicate hand-applied, then the deploy
      const [toolProd, harnessProd] = await atRevisionBefore('prod', OLD_PREDICATE_SQL);
      const prod = await tool.deploy(server, dir, toolProd, 'all');
      expect(prod.code, prod.stderr + prod.stdout).toBe(0);
      expect((await harness(harnessProd, target)).error).toBeUndefined();
      expectSameDeploy(await outcome(databases, toolProd, tool.versions), await outcome(databases, harnessProd, tool.versions));

      // an orphan in the data: both fail on it, and leave the same database
      const [toolOrphan, harnessOrphan] = await atRevisionBefore('orphan', ORPHAN);
      const failed = await tool.deploy(server, dir, toolOrphan, 'all');
      expect(failed.code).not.toBe(0);
      expect(failed.stderr + failed.stdout).toMatch(/outcome_requires_inference_when_model_chosen/);
      expect((await harness(harnessOrphan, target)).error?.sqlstate).toBe('23514');
      const [toolAfter, harnessAfter] = [await outcome(databases, toolOrphan, tool.versions), await outcome(databases, harnessOrphan, tool.versions)];
      // Sqitch logs a 'fail' event for the failed change, which the harness does not write
      if (tool.format === 'sqitch') toolAfter.versions = toolAfter.versions.filter((row) => !(Array.isArray(row) && row[0] === 'event' && row[1] === 'fail'));
      expectSameDeploy(toolAfter, harnessAfter);
    }, 120_000);
  });
}
