import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { catalogDigest, fingerprintContent, snapshotCatalog } from '../harness/catalog/index.ts';
import { Chain, defaultRunner, Migrator } from '../harness/migrate/index.ts';
import { EmbeddedPostgresProvider, withClient, type PostgresServer } from '../harness/postgres/index.ts';
import { Snapshot } from '../harness/snapshot/snapshot.ts';
import { orphansOf, readForeignKeys } from '../harness/states/bulk-load.ts';
import { MIGRATIONS, runCli, SEED, sharedServer } from './helpers.ts';
import { commandAvailable, REQUIRED } from './real-tools.ts';
import { buildStagingSource, orphanKeys } from './snapshot-source.ts';

/**
 * `--from-db` and `--from-dump` against a source this file starts itself, on another major
 * than the harness's server (14 as the source, 18 as the harness): the project's chain at 0030,
 * the old predicate hand-applied, 20,000 outcomes. The source must be exactly as it was after
 * every run: catalog, rows, sessions.
 */
const CONSTRAINT = 'outcome_requires_inference_when_model_chosen';
const ROWS = 20_000;

/** What the source is: its catalog digest, every row's fingerprint, and the sessions on it other than this one. */
async function observe(url: string): Promise<{ digest: string; rows: unknown; sessions: string[] }> {
  return withClient({ connectionString: url, application_name: 'snapshot-test observer' }, async (client) => {
    const catalog = await snapshotCatalog(client);
    const { rows } = await client.query<{ s: string }>(`SELECT coalesce(application_name, '') || ':' || coalesce(datname, '') AS s FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() ORDER BY 1`);
    return { digest: await catalogDigest(client), rows: await fingerprintContent(client, catalog), sessions: rows.map((r) => r.s) };
  });
}

describe(`verify --from-db / --from-dump (source PostgreSQL 14, harness 18; seed ${SEED})`, () => {
  let source: PostgresServer;
  let clean: string;
  let orphans: string;
  let harnessUrl: string;
  beforeAll(async () => {
    source = await new EmbeddedPostgresProvider({ pgVersion: '14' }).start();
    clean = await buildStagingSource(source, 'staging_clean', ROWS, 0);
    orphans = await buildStagingSource(source, 'staging_orphans', ROWS, 3);
    harnessUrl = inject('databaseUrl');
  });
  const temporary: string[] = [];
  afterAll(async () => {
    for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
    await source?.stop();
  });

  it('converges on a source without orphans: every group runs on its rows, the source untouched', async () => {
    const before = await observe(clean);
    const result = await runCli(['verify', '--url', harnessUrl, '--from-db', clean, '--states', 'snapshot', '--runs', '3', '--seed', String(SEED), '--working-set', '0']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).not.toContain('working set');
    expect(result.stdout).toMatch(/^ok {3}snapshot +expect converge +migration converged +7\/7 properties \(migration\+writes\+concurrency/m);
    expect(result.stdout).toContain('finding: converges, every row kept');
    expect(result.stdout).toMatch(/live deploy: 3 run\(s\)/);
    expect(result.stdout).toMatch(/read in one REPEATABLE READ, READ ONLY transaction: 40003 row\(s\) of 3 table\(s\)/);
    expect(result.stdout).toContain('catalog unchanged, 0 session(s) of the harness left on it');
    expect(result.stdout + result.stderr).not.toContain(new URL(clean).password);
    expect(await observe(clean)).toEqual(before);
  });

  it('runs the write groups on a working set of a large snapshot: at most N rows per table and their parents, every foreign key closed, said in the report', async () => {
    const result = await runCli(['verify', '--url', harnessUrl, '--from-db', clean, '--states', 'snapshot', '--group', 'writes,concurrency', '--runs', '2', '--seed', String(SEED), '--working-set', '1500', '--json']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { ok: boolean; snapshot: { workingSet: { perTable: number; rows: number; of: number; tables: { table: string; rows: number; total: number; parents?: number; orphans?: number }[] } } };
    const set = report.snapshot.workingSet;
    expect(set.perTable).toBe(1500);
    expect(set.of).toBe(2 * ROWS);
    const outcomes = set.tables.find((t) => t.table === 'public.routing_outcomes')!;
    const inferences = set.tables.find((t) => t.table === 'public.inferences')!;
    expect(outcomes).toMatchObject({ rows: 1500, total: ROWS });
    // the outcomes picked reference inferences beyond the 1500 picked: those are taken as parents, none is left unmatched
    expect(inferences.rows).toBeGreaterThan(1500);
    expect(inferences.rows - (inferences.parents ?? 0)).toBe(1500);
    expect(set.tables.every((t) => !t.orphans)).toBe(true);
    expect(set.tables.some((t) => t.table.endsWith('schema_migrations'))).toBe(false);
  });

  it('fails with 3 orphans among 20,000 rows, naming exactly their keys and the constraint; the pre-deploy report says 3 first', async () => {
    const before = await observe(orphans);
    const result = await runCli(['verify', '--url', harnessUrl, '--from-db', orphans, '--states', 'snapshot', '--group', 'migration', '--seed', String(SEED)]);
    expect(result.code, result.stdout + result.stderr).toBe(1);
    const report = result.stdout.indexOf(`CHECK ${CONSTRAINT} on public.routing_outcomes: 3 row(s) violate it now`);
    expect(report, result.stdout).toBeGreaterThan(0);
    expect(report).toBeLessThan(result.stdout.indexOf('FAIL snapshot'));
    expect(result.stdout).toContain(`finding: fails atomically: 3 row(s) of routing_outcomes violate ${CONSTRAINT}`);
    expect(result.stdout).toContain(`their keys: ${orphanKeys(3).join(', ')}`);
    const select = /every one of them, on the source: (SELECT .*;)/.exec(result.stdout)![1]!;
    const listed = await withClient({ connectionString: orphans }, (client) => client.query<{ id: string }>(select));
    expect(listed.rows.map((r) => r.id)).toEqual(orphanKeys(3));
    expect(await observe(orphans)).toEqual(before);
  });

  it('says in one line what to do when the source is newer than the harness', async () => {
    const newer = await runCli(['verify', '--url', source.connectionUri(source.maintenanceDatabase), '--from-db', harnessUrl, '--states', 'snapshot', '--group', 'migration']);
    expect(newer.code, newer.stderr).toBe(2);
    expect(newer.stderr).toMatch(/is PostgreSQL 18, the harness's server 14: run the harness on 18 \(--pg-version 18/);
    expect(newer.stderr).not.toContain(new URL(harnessUrl).password);
  });

  it("rehearse --from-db measures the lock ledger and the writers at the snapshot's own size; the projection only goes to a larger --prod-rows", async () => {
    const before = await observe(clean);
    const own = await runCli(['rehearse', '--url', harnessUrl, '--from-db', clean, '--seed', String(SEED), '--before', '300', '--after', '300']);
    expect(own.code, own.stdout + own.stderr).toBe(0);
    expect(own.stdout).toContain(`state copied at its own size, ${ROWS.toLocaleString('en-US')} rows in its largest table`);
    expect(own.stdout).toMatch(new RegExp(`holds ACCESS EXCLUSIVE on routing_outcomes for ~[\\d.]+ ms at ${ROWS.toLocaleString('en-US')} rows`));
    expect(own.stdout).toContain('✓ writes-agree-with-model-under-load');
    const prod = await runCli(['rehearse', '--url', harnessUrl, '--from-db', clean, '--prod-rows', '2000000', '--seed', String(SEED), '--before', '300', '--after', '300']);
    expect(prod.code, prod.stdout + prod.stderr).toBe(0);
    expect(prod.stdout).toMatch(/holds ACCESS EXCLUSIVE on routing_outcomes for ~[\d.]+ ms at 2,000,000 rows/);
    expect(prod.stdout).toContain('(one size measured: taken as proportional to rows)');
    expect(await observe(clean)).toEqual(before);
  });

  const dumps = commandAvailable('pg_dump');
  it.skipIf(!dumps && !REQUIRED)(`--from-dump: the same finding through a plain and a custom-format dump${dumps ? '' : ' (skipped: no pg_dump on PATH to make the dumps)'}`, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ch-dump-'));
    temporary.push(dir);
    const env = { ...process.env, PGPASSWORD: new URL(orphans).password };
    const target = new URL(orphans);
    const args = ['-h', target.hostname, '-p', target.port, '-U', target.username, '-d', 'staging_orphans'];
    execFileSync('pg_dump', [...args, '-Fp', '-f', path.join(dir, 'plain.sql')], { env });
    execFileSync('pg_dump', [...args, '-Fc', '-f', path.join(dir, 'custom.dump')], { env });
    const formats = commandAvailable('pg_restore') ? ['plain.sql', 'custom.dump'] : ['plain.sql'];
    if (formats.length === 1) console.warn('pg_restore is not on PATH: the custom-format dump is only checked to say so');
    for (const file of formats) {
      const result = await runCli(['verify', '--url', harnessUrl, '--from-dump', path.join(dir, file), '--states', 'snapshot', '--group', 'migration', '--seed', String(SEED)]);
      expect(result.code, file + result.stdout + result.stderr).toBe(1);
      expect(result.stdout).toContain(`CHECK ${CONSTRAINT} on public.routing_outcomes: 3 row(s) violate it now`);
      expect(result.stdout).toContain(`their keys: ${orphanKeys(3).join(', ')}`);
      expect(result.stdout).toContain(file === 'plain.sql' ? 'read as plain SQL' : '(custom format)');
    }
    if (formats.length === 1) {
      const result = await runCli(['verify', '--url', harnessUrl, '--from-dump', path.join(dir, 'custom.dump'), '--states', 'snapshot'], { PATH: '/nonexistent' });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/pg_restore/);
    }
  });

  it('--sample takes at most N rows per table and the parents they reference: every foreign key holds', async () => {
    // outcome i references inference 1001 - i: the first rows of each table are not each other's
    await withClient(source.connectionConfig(source.maintenanceDatabase), (client) => client.query('CREATE DATABASE sample_src'));
    const chain = await Chain.load(MIGRATIONS);
    const migrator = new Migrator(chain, defaultRunner(chain.format));
    await withClient(source.connectionConfig('sample_src'), async (client) => {
      await migrator.migrateTo(client, '0030');
      await client.query(`INSERT INTO inferences (id, provider, model, status) SELECT md5('i' || i)::uuid, 'openai', 'gpt-4o', 'ok' FROM generate_series(1, 1000) AS i`);
      await client.query(`INSERT INTO routing_outcomes (id, request_id, decision_rule, inference_id) SELECT md5('o' || i)::uuid, 'r' || i, 'pinned', md5('i' || (1001 - i))::uuid FROM generate_series(1, 1000) AS i`);
    });
    const { server, databases } = await sharedServer();
    const copy = await databases.create('sample_copy');
    try {
      const snapshot = new Snapshot({ fromDb: source.connectionUri('sample_src'), sample: 50 }, migrator, 1);
      await withClient(server.connectionConfig(copy), (client) => snapshot.load(client));
      const tables = Object.fromEntries(snapshot.facts.copy!.tables.map((t) => [t.table, t]));
      expect(tables['public.routing_outcomes']).toMatchObject({ rows: 50, total: 1000 });
      expect(tables['public.inferences']).toMatchObject({ rows: 100, total: 1000, parents: 50 });
      await withClient(server.connectionConfig(copy), async (client) => {
        const keys = await readForeignKeys(client);
        expect(keys.length).toBeGreaterThan(0);
        for (const key of keys) expect((await client.query(`SELECT count(*)::int AS n ${orphansOf(key)}`)).rows[0].n, key.name).toBe(0);
      });
    } finally {
      await databases.close();
    }
  });

  it('forecasts a constraint added NOT VALID: 5 old rows could no longer be updated, and PostgreSQL refuses the UPDATE of one', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ch-not-valid-'));
    temporary.push(dir);
    mkdirSync(path.join(dir, 'migrations'));
    writeFileSync(path.join(dir, 'migrations', '0001_items.sql'), 'CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL, note text);\n');
    writeFileSync(path.join(dir, 'migrations', '0002_qty_positive.sql'), 'ALTER TABLE items ADD CONSTRAINT qty_positive CHECK (qty > 0) NOT VALID;\n');
    const chain = await Chain.load(path.join(dir, 'migrations'));
    const migrator = new Migrator(chain, defaultRunner(chain.format));
    const rows = `INSERT INTO items (id, qty) SELECT i, CASE WHEN i <= 5 THEN -i ELSE i END FROM generate_series(1, 30) AS i`;
    await withClient(source.connectionConfig(source.maintenanceDatabase), (client) => client.query('CREATE DATABASE items_src'));
    await withClient(source.connectionConfig('items_src'), async (client) => {
      await migrator.migrateTo(client, '0001');
      await client.query(rows);
    });
    const result = await runCli(['verify', '--url', harnessUrl, '--suite', 'auto', '--migrations', path.join(dir, 'migrations'), '--from-db', source.connectionUri('items_src'), '--states', 'snapshot', '--group', 'migration', '--seed', String(SEED)]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('CHECK qty_positive on public.items (added NOT VALID): 5 row(s) violate it now');
    expect(result.stdout).toContain('5 existing row(s) could no longer be updated without fixing them');
    expect(result.stdout).toContain('keys: 1, 2, 3, 4, 5');
    // what the forecast says, PostgreSQL does: the migrated copy refuses an UPDATE of an old row that leaves qty alone
    const { databases, server } = await sharedServer();
    const check = await databases.create('not_valid_update');
    try {
      await withClient(server.connectionConfig(check), async (client) => {
        await migrator.migrateTo(client, '0001');
        await client.query(rows);
        await migrator.migrateTo(client, '0002');
        await expect(client.query(`UPDATE items SET note = 'checked' WHERE id = 3`)).rejects.toMatchObject({ code: '23514', constraint: 'qty_positive' });
        expect((await client.query(`UPDATE items SET note = 'checked' WHERE id = 6`)).rowCount).toBe(1);
      });
    } finally {
      await databases.close();
    }
  });
});
