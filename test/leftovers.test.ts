import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedPostgresProvider, type PostgresServer } from '../harness/postgres/index.ts';
import { chainWith, interruptCli, runCli } from './helpers.ts';

/**
 * Nothing is left behind: not on a server the harness was pointed at (`--url`), whatever the
 * moment of a Ctrl-C or SIGTERM, nor when the chain under test is broken. The server here is
 * one this test starts itself, so the list of its databases means something.
 */
let server: PostgresServer;
let url: string;

async function databases(): Promise<string[]> {
  const client = new pg.Client(server.connectionConfig('postgres'));
  await client.connect();
  try {
    return (await client.query<{ datname: string }>('SELECT datname FROM pg_database ORDER BY 1')).rows.map((row) => row.datname);
  } finally {
    await client.end();
  }
}

function interrupt(args: string[], when: RegExp, signal: NodeJS.Signals, delayMs: number): Promise<{ code: number | null; stderr: string }> {
  return interruptCli(['verify', '--url', url, ...args], when, signal, delayMs);
}

beforeAll(async () => {
  server = await new EmbeddedPostgresProvider().start();
  url = server.connectionUri('postgres');
});
afterAll(() => server.stop());

describe('--provider url: every database the run made is dropped, at any moment it stops', () => {
  it.each([
    ['start-up', ['--runs', '50'], /constraint-harness verify:/, 'SIGINT', 0],
    ['template builds', ['--runs', '50'], /PostgreSQL \S+ \(url\)/, 'SIGTERM', 0],
    ['the migration group', ['--runs', '500', '--group', 'migration'], /migration checks \(\d\) \(migration\): started/, 'SIGINT', 150],
    ['the writes group', ['--runs', '2000', '--group', 'writes'], /write-path-agrees-with-model \(writes\): started/, 'SIGTERM', 150],
    ['the live deploy', ['--runs', '500', '--group', 'concurrency', '--states', 'prod-drift,prod-drift-inflight'], /live-deploy-keeps-valid-writes \(concurrency\): started/, 'SIGINT', 400],
  ] as const)('interrupted during %s: exit 130/143, the server lists the same databases as before', async (_phase, args, when, signal, delay) => {
    const before = await databases();
    const result = await interrupt([...args], when, signal, delay);
    expect(result.code, result.stderr).toBe(signal === 'SIGINT' ? 130 : 143);
    expect(result.stderr).not.toMatch(/refusing to touch|cleanup of .* failed/);
    expect(await databases()).toEqual(before);
  });
});

describe('a chain that fails on an empty database is a verdict (exit 1), never a setup error, and leaves nothing', () => {
  const broken = () => chainWith({ '0002_create_routing_outcomes.sql': 'CREATE TABLE routing_outcomes (id uuid PRIMARY KEY, inference_id uuid REFERENCES no_such_table (id));\n' });

  it('on --provider url: 10 runs out of 10 exit 1, every state says why, no database is left', async () => {
    const before = await databases();
    const dir = broken();
    // one run over every state, nine more over two (the same race-prone start, less work)
    const args = (states?: string) => ['verify', '--url', url, '--migrations', dir, '--runs', '3', '--json', ...(states ? ['--states', states] : [])];
    const runs = [await runCli(args()), ...(await Promise.all(Array.from({ length: 9 }, () => runCli(args('fresh,already-migrated')))))];
    for (const [i, run] of runs.entries()) {
      expect(run.code, run.stderr).toBe(1);
      const report = JSON.parse(run.stdout);
      // the suite's nine states and the derived hand-applied one
      expect(report.states).toHaveLength(i === 0 ? 10 : 2);
      for (const state of report.states) {
        expect(state.properties.map((p: { name: string; ok: boolean }) => `${p.name}:${p.ok}`)).toEqual(['chain-applies-to-empty-database:false']);
        expect(state.properties[0].counterexample.actual).toMatch(/0002_create_routing_outcomes\.sql:1: 42P01 relation "no_such_table" does not exist/);
      }
    }
    expect(await databases()).toEqual(before);
  });

  it('on the embedded provider: exit 1 every time, no server or directory left', async () => {
    const dir = broken();
    const runs = await Promise.all(Array.from({ length: 3 }, () => runCli(['verify', '--provider', 'embedded', '--migrations', dir, '--runs', '3', '--states', 'fresh,prod-drift,already-migrated'])));
    // each run's own server and directory (other test files start servers of their own meanwhile)
    const dataDirs = runs.map((run) => /data directory (\S+)/.exec(run.stderr)?.[1]);
    for (const run of runs) {
      expect(run.code, run.stderr).toBe(1);
      expect(run.stdout).toMatch(/✗ already-migrated \/ chain-applies-to-empty-database \(migration\) failed/);
    }
    expect(dataDirs.every((d) => d?.includes('constraint-harness-')), runs.map((r) => r.stderr).join('\n')).toBe(true);
    const processes = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n');
    expect(dataDirs.filter((d) => existsSync(d!) || processes.some((p) => p.includes(d!)))).toEqual([]);
  });
});
