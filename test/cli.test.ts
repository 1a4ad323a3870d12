import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { inject, describe, expect, it, vi } from 'vitest';
import { main } from '../harness/cli/main.ts';
import { chainWith, migrationsDir, runCli, runCliWithoutDocker } from './helpers.ts';

const url = () => inject('databaseUrl');

/** A migration "file" that cannot be read (a directory; root reads any file whatever its mode). */
function unreadable(): string {
  const dir = migrationsDir({ '0001_a.sql': 'SELECT 1;' });
  mkdirSync(path.join(dir, '0002_broken.sql'));
  return dir;
}

describe('constraint-harness command line', () => {
  it('lists the starting states with their stories', async () => {
    const result = await runCli(['states']);
    expect(result.code).toBe(0);
    const names = result.stdout.trim().split('\n').map((line) => line.split(/\s+/)[0]);
    expect(names).toEqual(['fresh', 'prod-drift', 'prod-drift-inflight', 'staging', 'already-migrated', 'schema-ahead', 'unrepaired-orphans', 'prod-drift-not-valid', 'stamped-not-run']);
    expect(result.stdout).toMatch(/stamped-not-run\s+drift\s+The version table says 0031/);
  });

  it('verify --json prints one JSON document of the SPEC shape on stdout, logs on stderr, exit 0', async () => {
    const result = await runCli(['verify', '--url', url(), '--group', 'migration', '--states', 'prod-drift,stamped-not-run', '--runs', '3', '--seed', '7', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ ok: true, postgres: { provider: 'url' }, migrations: { to: '0031' } });
    expect(report.postgres.version).toMatch(/^\d+(\.\d+)?/);
    expect(report.states.map((s: { name: string }) => s.name)).toEqual(['prod-drift', 'stamped-not-run']);
    expect(report.states[0]).toMatchObject({ name: 'prod-drift', expect: 'converge', migration: 'converged' });
    expect(report.states[1]).toMatchObject({ name: 'stamped-not-run', expect: 'drift', migration: 'drift' });
    for (const property of report.states[0].properties) {
      expect(property).toMatchObject({ group: 'migration', ok: true, seed: 7 });
      expect(typeof property.runs).toBe('number');
      expect(typeof property.ms).toBe('number');
    }
    expect(result.stderr).toContain('seed 7');
    expect(result.stdout + result.stderr).not.toContain(new URL(url()).password);
  });

  it('exits 1 with a counterexample and a replay command when a property fails', async () => {
    const dir = chainWith({ '0031_outcome_requires_inference.sql': "ALTER TABLE routing_outcomes ADD CONSTRAINT outcome_requires_inference_when_model_chosen CHECK (outcome_status IS NULL OR inference_id IS NOT NULL);\n" });
    const result = await runCli(['verify', '--url', url(), '--migrations', dir, '--group', 'migration', '--states', 'prod-drift', '--runs', '3', '--seed', '11']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/✗ prod-drift \/ outcome-as-expected \(migration\) failed/);
    expect(result.stdout).toMatch(/actual: +failed-atomically: 0031_outcome_requires_inference\.sql:1: 42710/);
    expect(result.stdout).toMatch(/replay: +npx constraint-harness verify --states prod-drift --group migration --property outcome-as-expected --seed 11 --path \S+ --migrations \S+ --url <the same server>/);
    expect(result.stdout).toMatch(/^FAILED: /m);
    // the replay runs exactly the property it names: one of the state's four migration checks
    const replay = /replay: +npx constraint-harness (.*)$/m.exec(result.stdout)![1]!.split(' ').map((arg) => (arg === '<the' ? url() : arg)).filter((arg) => arg !== 'same' && arg !== 'server>');
    const replayed = await runCli([...replay, '--json']);
    expect(replayed.code, replayed.stderr).toBe(1);
    const state = JSON.parse(replayed.stdout).states[0];
    expect(state.properties.map((p: { name: string; ok: boolean }) => [p.name, p.ok])).toEqual([['outcome-as-expected', false]]);
  });

  it('asks for a container runtime in one line when there is none, and points to the embedded provider', async () => {
    const result = await runCliWithoutDocker(['verify', '--provider', 'container', '--runs', '1']);
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n').filter((line) => !line.startsWith('constraint-harness verify:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^constraint-harness: --provider container needs a container runtime, and none was found .*; --provider embedded works without Docker$/);
  });

  it.each([
    ['an unknown state', ['--states', 'nope'], /^constraint-harness: unknown state "nope" \(states: fresh, /],
    ['an unknown group', ['--group', 'nope'], /unknown group "nope"/],
    ['a --to that names no revision', ['--to', '0029'], /^constraint-harness: --to 0029 names no revision/],
    ['a missing migrations directory', ['--migrations', '/nonexistent'], /^constraint-harness: migrations directory \/nonexistent does not exist/],
    ['an empty migrations directory', ['--migrations', migrationsDir({})], /has no migration files/],
    ['two files with the same revision', ['--migrations', migrationsDir({ '0001_a.sql': 'SELECT 1;', '001_b.sql': 'SELECT 2;' })], /two migration files have revision 001: 0001_a\.sql and 001_b\.sql|two migration files have revision 0001: 001_b\.sql and 0001_a\.sql/],
    ['an unreadable migration file', ['--migrations', unreadable()], /^constraint-harness: cannot read migration .*0002_broken\.sql: EISDIR/],
    ['a bad seed', ['--seed', 'abc'], /"abc" is not an integer/],
    ['a bad path', ['--seed', '1', '--path', 'x:1'], /"x:1" is not a fast-check path/],
    ['an unknown provider', ['--provider', 'docker'], /argument 'docker' is invalid/],
    ['a path without a seed', ['--path', '3:1'], /--path replays a failure and needs the --seed/],
    ['an unreachable server', ['--url', 'postgres://u:hunter2@127.0.0.1:1/x'], /^constraint-harness: cannot reach PostgreSQL at postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/x/],
  ])('exits 2 with one line for %s', async (_label, args, message) => {
    const needsServer = !args.includes('--url');
    // the command line run in this process (no new Node per case); the binary's own exit code is the next test's
    const result = await runMain(['verify', ...(needsServer ? ['--url', url()] : []), '--runs', '1', ...args]);
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n').filter((line) => !line.startsWith('constraint-harness verify:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(result.stderr).not.toContain('hunter2');
  });

  it('the binary exits 2 on a usage error, with the one line on stderr', async () => {
    const result = await runCli(['verify', '--url', url(), '--runs', '1', '--states', 'nope']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n').at(-1)).toMatch(/^constraint-harness: unknown state "nope"/);
  });
});

/** `main` in this process, its output captured: what the binary does, minus starting Node. */
async function runMain(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = { stdout: '', stderr: '' };
  const capture = (stream: 'stdout' | 'stderr') =>
    vi.spyOn(process[stream], 'write').mockImplementation((chunk: string | Uint8Array) => {
      output[stream] += String(chunk);
      return true;
    });
  const spies = [capture('stdout'), capture('stderr')];
  try {
    const code = await main(['node', 'constraint-harness', ...args], { signals: false });
    return { code, ...output };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

describe('a verdict is never PASSED unless something was proven', () => {
  const noIfExists = () => chainWith({ '0031_outcome_requires_inference.sql': "ALTER TABLE routing_outcomes ADD CONSTRAINT outcome_requires_inference_when_model_chosen CHECK (outcome_status IS NULL OR decision_rule_override IS NOT NULL OR decision_rule <> 'cheapest_clearing_floor' OR inference_id IS NOT NULL);\n" });

  it.each([['writes'], ['concurrency']])('--group %s --states prod-drift with a 0031 lacking IF EXISTS: exit 1, naming the 42710 error', async (group) => {
    const result = await runCli(['verify', '--url', url(), '--migrations', noIfExists(), '--group', group, '--states', 'prod-drift', '--runs', '5', '--seed', '3']);
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stdout).toMatch(/✗ prod-drift \/ migration-reaches-target \(migration\) failed/);
    expect(result.stdout).toMatch(/actual: +failed: 0031_outcome_requires_inference\.sql:1: 42710 constraint "outcome_requires_inference_when_model_chosen" for relation "routing_outcomes" already exists/);
    expect(result.stdout).toMatch(/^FAILED: /m);
    expect(result.stdout).not.toMatch(/PASSED/);
  });

  it('a selection that checks nothing is a usage error in one line, exit 2', async () => {
    const result = await runCli(['verify', '--url', url(), '--group', 'writes', '--states', 'unrepaired-orphans', '--runs', '5']);
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n').filter((line) => !line.startsWith('constraint-harness verify:'));
    expect(lines).toEqual([expect.stringMatching(/^constraint-harness: nothing to check: --group writes --states unrepaired-orphans selects no property \(unrepaired-orphans: writes: the migration must fail here/)]);
  });

  it('an unknown --property is a usage error too', async () => {
    const result = await runCli(['verify', '--url', url(), '--property', 'no-such-property', '--runs', '5']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/nothing to check: .*--property no-such-property selects no property/);
  });
});
