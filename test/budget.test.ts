import { inject, describe, expect, it } from 'vitest';
import { runCli } from './helpers.ts';

const url = () => inject('databaseUrl');

interface Reported {
  name: string;
  ok: boolean;
  runs: number;
  counterexample?: { expected: string; actual: string };
}

/** Every property of a --json report, by state. */
function properties(stdout: string): { state: string; property: Reported }[] {
  const report = JSON.parse(stdout) as { states: { name: string; properties: Reported[] }[] };
  return report.states.flatMap((state) => state.properties.map((property) => ({ state: state.name, property })));
}

describe('verify --budget', () => {
  it('runs each property as often as its share of the time holds, says how often, and passes only with --min-runs each', async () => {
    const result = await runCli(['verify', '--url', url(), '--states', 'fresh,prod-drift', '--group', 'writes,concurrency', '--budget', '12s', '--min-runs', '20', '--seed', '3', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const all = properties(result.stdout);
    expect(all.length).toBeGreaterThanOrEqual(5);
    for (const { property } of all) {
      expect(property.ok).toBe(true);
      expect(property.runs).toBeGreaterThanOrEqual(20);
    }
    // the writes property is cheap: its share holds far more than 100 runs (what --runs would give)
    expect(all.find(({ state, property }) => state === 'prod-drift' && property.name === 'write-path-agrees-with-model')!.property.runs).toBeGreaterThan(100);
    expect(JSON.parse(result.stdout).budget).toEqual({ ms: 12_000, minRuns: 20 });
    expect(result.stderr).toMatch(/--budget 12s: as many runs per property as fit, at least 20 to pass/);
  });

  it('never passes a property on fewer runs than --min-runs: the report says how many it got and how to give it more', async () => {
    const result = await runCli(['verify', '--url', url(), '--states', 'prod-drift', '--group', 'writes,concurrency', '--budget', '3s', '--min-runs', '100000', '--seed', '3']);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).not.toMatch(/^PASSED/m);
    expect(result.stdout).toMatch(/^runs per property \(--budget 3s; at least 100000 to pass; 3 got fewer and did not pass\):/m);
    expect(result.stdout).toMatch(/^ {2}prod-drift +write-path-agrees-with-model \d+, concurrent-flows-agree-with-model \d+, live-deploy-keeps-valid-writes \d+$/m);
    expect(result.stdout).toMatch(/expected: at least 100000 runs \(--min-runs\) within --budget 3s/);
    expect(result.stdout).toMatch(/actual: +only \d+ run\(s\) in [\d.]+ s, every one of which held: too few to call it a pass/);
    expect(result.stdout).toMatch(/run this property alone: npx constraint-harness verify --states prod-drift --group writes --property write-path-agrees-with-model --seed 3 --url <the same server> --runs 100000/);
    expect(result.stdout).toMatch(/^FAILED: 0 of 3 properties hold/m);
  });

  it('is a usage error beside --runs or --path, and --min-runs needs it', async () => {
    for (const [args, message] of [
      [['--budget', '10s', '--runs', '5'], /--budget and --runs: give one/],
      [['--budget', '10s', '--seed', '1', '--path', '3'], /--budget and --path: a replay runs the one case its path names/],
      [['--min-runs', '50'], /--min-runs applies with --budget/],
      [['--budget', 'soon'], /"soon" is not a duration of at least 1 s \(e\.g\. 90s, 2m, 1m30s, 300\)/],
    ] as const) {
      const result = await runCli(['verify', '--url', url(), '--states', 'fresh', ...args]);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(message);
    }
  });
});
