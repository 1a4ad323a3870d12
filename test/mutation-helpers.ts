import type { MutantKind } from '../harness/mutate/constraint-mutants.ts';
import { mutate, type MutantResult, type MutationReport } from '../harness/mutate/mutate.ts';
import type { Suite } from '../harness/suite.ts';
import { testConfig } from './helpers.ts';

/** Each mutant's status by its description. */
export const statusOf = (report: MutationReport) => Object.fromEntries(report.mutants.map((m) => [m.description, m.status]));

/** Mutation testing of a suite on the test run's server: migration and writes groups, some states and kinds if given. */
export const mutateSuite = <Op>(suite: Suite<Op>, runs: number, states?: string[], kinds?: MutantKind[]) =>
  mutate(suite, testConfig(suite, { groups: ['migration', 'writes'], runs, ...(states ? { states } : {}) }), { kinds });

/** Killed by a named property, proven equivalent, or (a survivor, a mutant not run) saying what the suite would have to do, or why. */
export const explained = (m: MutantResult) =>
  m.status === 'killed' ? m.killedBy?.property !== undefined : m.status === 'equivalent' ? /^(equal on every part|every key column)/.test(m.reason ?? '') : (m.reason ?? '').length > 20;
