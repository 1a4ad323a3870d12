import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ROOT, SEED, scratchDir } from './helpers.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: { ...process.env, npm_config_loglevel: 'error' }, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';

/**
 * The package as another team gets it: `npm pack` (the build `npm ci` made), installed as a dev
 * dependency into a project of its own, with its own chain, declaration and hand-written suite.
 */
describe(`constraint-harness installed in another project (seed ${SEED})`, () => {
  let project: string;

  beforeAll(async () => {
    project = scratchDir('ch-project-');
    const packed = await run(npm, ['pack', '--ignore-scripts', '--pack-destination', project], ROOT);
    expect(packed.code, packed.stderr).toBe(0);
    const tarball = readdirSync(project).find((name) => name.endsWith('.tgz'))!;
    expect((await run(npm, ['init', '-y'], project)).code).toBe(0);
    // the dependencies come from npm's cache when `npm ci` filled it (the registry otherwise)
    const installed = await run(npm, ['install', '--save-dev', `./${tarball}`, '--prefer-offline', '--no-audit', '--no-fund'], project);
    expect(installed.code, installed.stderr).toBe(0);
    mkdirSync(path.join(project, 'db/migrations'), { recursive: true });
    writeFileSync(path.join(project, 'db/migrations/0001_create_teams.sql'), 'CREATE TABLE teams (id integer PRIMARY KEY, name text NOT NULL);\nCREATE TABLE members (id bigint PRIMARY KEY, team_id integer NOT NULL REFERENCES teams (id), role text NOT NULL);\n');
    writeFileSync(path.join(project, 'db/migrations/0002_member_roles.sql'), "ALTER TABLE members DROP CONSTRAINT IF EXISTS members_role_known;\nALTER TABLE members ADD CONSTRAINT members_role_known CHECK (role IN ('owner', 'member'));\n");
    writeFileSync(path.join(project, 'constraint-harness.config.ts'), "import { defineConfig } from 'constraint-harness';\n\nexport default defineConfig({ migrations: './db/migrations' });\n");
    cpSync(path.join(ROOT, 'test/fixtures/outside-suite'), path.join(project, 'shop'), { recursive: true });
  }, 240_000);

  it('npx constraint-harness verify finds the declaration in the current folder and passes', async () => {
    const result = await run(npx, ['constraint-harness', 'verify', '--url', inject('databaseUrl'), '--runs', '10', '--seed', String(SEED)], project);
    expect(result.code, result.stderr + result.stdout).toBe(0);
    expect(result.stderr).toMatch(/constraints the target adds: CHECK members_role_known on members/);
    expect(result.stdout).toMatch(/^PASSED: \d+ of \d+ properties hold/m);
  }, 120_000);

  it('npx constraint-harness init writes a declaration that says what it derived, and that declaration verifies', async () => {
    const init = await run(npx, ['constraint-harness', 'init', '--migrations', 'db/migrations', '--out', 'derived/constraint-harness.config.ts', '--url', inject('databaseUrl')], project);
    expect(init.code, init.stderr).toBe(0);
    const text = readFileSync(path.join(project, 'derived/constraint-harness.config.ts'), 'utf8');
    expect(text).toMatch(/CHECK members_role_known on members/);
    expect(text).toMatch(/violates-members-role-known \(fail-atomically\)/);
    expect(text).toMatch(/members\.role: .*'owner'/);
    expect(text).toMatch(/migrations: "\.\.\/db\/migrations"/);
    const again = await run(npx, ['constraint-harness', 'init', '--migrations', 'db/migrations', '--out', 'derived/constraint-harness.config.ts', '--url', inject('databaseUrl')], project);
    expect(again.code).toBe(2);
    const verified = await run(npx, ['constraint-harness', 'verify', '--suite', 'derived', '--url', inject('databaseUrl'), '--runs', '10', '--seed', String(SEED)], project);
    expect(verified.code, verified.stderr + verified.stdout).toBe(0);
  }, 120_000);

  it('a hand-written suite beside the project (bigint keys, a FOREIGN KEY and a CHECK) loads with --suite PATH and passes', async () => {
    const result = await run(npx, ['constraint-harness', 'verify', '--suite', './shop', '--url', inject('databaseUrl'), '--runs', '30', '--seed', String(SEED)], project);
    expect(result.code, result.stderr + result.stdout).toBe(0);
    // its five states, and each of its target's CHECK and FOREIGN KEY hand-applied NOT VALID
    expect(result.stdout).toMatch(/^PASSED: \d+ of \d+ properties hold over 7 state\(s\)/m);
    expect(result.stdout).toMatch(/^ok +hand-applied-orders-qty-positive/m);
  }, 120_000);

  it('the same suite with a weaker CHECK in its chain fails (the suite can tell)', async () => {
    const weak = path.join(project, 'shop-weak');
    cpSync(path.join(project, 'shop'), weak, { recursive: true });
    writeFileSync(path.join(weak, 'migrations/0002_orders_constraints.sql'), 'ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_customer_fk;\nALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);\nALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_qty_positive;\nALTER TABLE orders ADD CONSTRAINT orders_qty_positive CHECK (qty >= 0);\n');
    const result = await run(npx, ['constraint-harness', 'verify', '--suite', './shop-weak', '--url', inject('databaseUrl'), '--runs', '100', '--seed', String(SEED), '--group', 'writes'], project);
    expect(result.code, result.stderr + result.stdout).toBe(1);
    expect(result.stdout).toMatch(/placeOrder\(o\d, customer \d+, qty 0\)/);
  }, 120_000);

  it("import { defineSuite } from 'constraint-harness' works, with types", async () => {
    writeFileSync(path.join(project, 'check-types.ts'), "import { defineConfig, defineSuite, refused, type Declaration, type ExpectedOutcome } from 'constraint-harness';\nexport const declaration: Declaration = defineConfig({ migrations: './db/migrations' });\nexport const expected: ExpectedOutcome = refused.referenced('orders_customer_fk', 'restrict');\nexport { defineSuite };\n");
    writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2023', noEmit: true, types: ['node'] }, files: ['check-types.ts', 'constraint-harness.config.ts', 'shop/suite.ts'] }));
    const types = await run(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.'], project);
    expect(types.code, types.stdout + types.stderr).toBe(0);
    const imported = await run(process.execPath, ['--input-type=module', '-e', "import { defineSuite, fc } from 'constraint-harness'; console.log(typeof defineSuite, typeof fc.integer)"], project);
    expect(imported.stdout.trim(), imported.stderr).toBe('function function');
  }, 120_000);
});
