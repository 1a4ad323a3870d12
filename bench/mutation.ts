import { mutate } from '../harness/mutate/mutate.ts';
import { benchConfig, type BenchSuite } from './bench-context.ts';
import { median, type BenchLine } from './measure.ts';

/**
 * Mutation testing of the suite against its own target revision at the default budget
 * (groups migration and writes, 100 runs per property, one server for every mutant): the
 * score, the total time, and the time per mutant (issue 11).
 */
export async function benchMutation({ suite }: BenchSuite): Promise<BenchLine[]> {
  const started = performance.now();
  const report = await mutate(suite, benchConfig(suite, { groups: ['migration', 'writes'], runs: 100, workers: 2 }));
  const totalMs = performance.now() - started;
  const times = report.mutants.map((m) => m.ms);
  const slowest = report.mutants.reduce((a, b) => (b.ms > a.ms ? b : a));
  const by = (status: string) => report.mutants.filter((m) => m.status === status).length;
  return [
    { name: `mutation score (${report.mutants.length} mutants: ${by('killed')} killed, ${by('equivalent')} equivalent, ${by('survived')} survived)`, value: report.score * 100, unit: '%', note: 'target 100% of non-equivalent' },
    { name: 'mutate, all mutants (baseline run included)', value: totalMs / 1000, unit: 's', note: `baseline ${Math.round(report.baselineMs / 1000)} s; target < 300 s` },
    { name: 'time per mutant (median)', value: median(times) / 1000, unit: 's', note: `slowest ${(slowest.ms / 1000).toFixed(1)} s: ${slowest.description}` },
  ];
}
