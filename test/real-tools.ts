import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { ScratchDatabases } from '../harness/postgres/index.ts';
import { ROOT, scratchDir, sharedServer } from './helpers.ts';

/**
 * The real migration tools the harness imitates: dbmate (the npm package's binary) and
 * Alembic (a Python with `alembic` importable, e.g. Debian's python3-alembic). A machine
 * without them skips their tests, saying so; CI sets REQUIRE_REAL_TOOLS=1 and installs them,
 * so there a missing tool is a failure, not a skip.
 */
export const REQUIRED = process.env.REQUIRE_REAL_TOOLS === '1';

/**
 * dbmate is not a devDependency: its npm wrapper lists a binary package per platform, and a
 * registry that holds only some of them makes `npm ci` refuse the lockfile. `.ci/run` installs
 * it beside the project and exports DBMATE; by hand: `npm install --no-save dbmate`, or any
 * dbmate on PATH.
 */
export const DBMATE = process.env.DBMATE || (existsSync(path.join(ROOT, 'node_modules/.bin/dbmate')) ? path.join(ROOT, 'node_modules/.bin/dbmate') : 'dbmate');

export function dbmateAvailable(): boolean {
  try {
    return /dbmate version/.test(execFileSync(DBMATE, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return false;
  }
}

/** A Python that can `import alembic, psycopg2` (the one on PATH, else Debian's). */
export function alembicPython(): string | undefined {
  for (const python of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(python, ['-c', 'import alembic, psycopg2'], { stdio: 'ignore' });
      return python;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

export function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/**
 * A login role for the tools, its password stored with PostgreSQL's default 4096 SCRAM
 * iterations: the harness gives its own superuser a one-iteration hash (fast connections),
 * which Go's lib/pq (dbmate) refuses.
 */
async function toolRole(adminUrl: string): Promise<{ url: (database: string) => string; drop(): Promise<void> }> {
  const name = `ch_tools_${Math.random().toString(16).slice(2, 10)}`;
  const password = Math.random().toString(36).slice(2);
  const admin = new pg.Client(adminUrl);
  await admin.connect();
  try {
    const version = Number((await admin.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v);
    await admin.query(`${version >= 160000 ? 'SET scram_iterations = 4096; ' : ''}CREATE ROLE ${name} LOGIN SUPERUSER PASSWORD ${pg.escapeLiteral(password)}`);
  } finally {
    await admin.end();
  }
  const base = new URL(adminUrl);
  return {
    url: (database) => `postgres://${name}:${password}@${base.hostname}:${base.port}/${database}`,
    async drop() {
      const client = new pg.Client(adminUrl);
      await client.connect();
      await client.query(`DROP ROLE IF EXISTS ${name}`).finally(() => client.end());
    },
  };
}

/** The SQL of the repo's own chain, revision by revision, as (name, up, down). */
export function repoChain(): { name: string; up: string; down: string }[] {
  const dir = path.join(ROOT, 'migrations');
  const downs: Record<string, string> = {
    create_inferences: 'DROP TABLE inferences;',
    create_routing_outcomes: 'DROP TABLE routing_outcomes;',
    add_decision_rule_override: 'ALTER TABLE routing_outcomes DROP COLUMN decision_rule_override;',
    outcome_requires_inference: 'ALTER TABLE routing_outcomes DROP CONSTRAINT IF EXISTS outcome_requires_inference_when_model_chosen;',
  };
  return readdirSync(dir)
    .sort()
    .map((file) => {
      const name = file.replace(/^\d+_/, '').replace(/\.sql$/, '');
      return { name, up: readFileSync(path.join(dir, file), 'utf8').trim(), down: downs[name]! };
    });
}

export function tempDir(prefix: string): string {
  return scratchDir(prefix);
}


/** The test run's shared server as the tools reach it: scratch databases, and the tools' own role. */
export async function toolServer(): Promise<{ databases: ScratchDatabases; url: (database: string) => string; close(): Promise<void> }> {
  const shared = await sharedServer();
  const role = await toolRole(shared.url);
  return {
    databases: shared.databases,
    url: role.url,
    async close() {
      await shared.databases.close();
      await role.drop();
    },
  };
}

/**
 * The npm-registry tools besides dbmate (drizzle-kit with drizzle-orm and pg, node-pg-migrate),
 * installed beside the project like dbmate: `.ci/run` installs them into a folder of its own
 * and exports CH_NODE_TOOLS; by hand, `npm install --no-save drizzle-kit drizzle-orm pg
 * node-pg-migrate` in a folder named by CH_NODE_TOOLS (default: this project).
 */
export const NODE_TOOLS = process.env.CH_NODE_TOOLS || ROOT;

export function nodeToolBin(name: string): string | undefined {
  const bin = path.join(NODE_TOOLS, 'node_modules/.bin', name);
  return existsSync(bin) ? bin : undefined;
}

/** A command on PATH that answers `--version` (sqitch, alembic), or undefined. */
export function commandAvailable(command: string, args = ['--version']): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
