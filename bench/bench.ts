import os from 'node:os';
import { loadSuite } from '../harness/cli/load-suite.ts';
import type { BenchSuite } from './bench-context.ts';
import { benchBaseline } from './baseline.ts';
import { benchConcurrency } from './concurrency.ts';
import { benchDerived } from './derived.ts';
import { formatLines } from './measure.ts';
import { benchMutation } from './mutation.ts';
import { benchProfile } from './profile.ts';
import { benchProviders } from './providers.ts';
import { benchRehearsal } from './rehearsal.ts';
import { benchSignOff } from './signoff.ts';
import { benchSnapshot } from './snapshot.ts';
import { benchStartup } from './startup.ts';
import { benchWrites } from './writes.ts';

/**
 * `npm run bench [-- --suite NAME]`: every figure SPEC §8 asks for, measured on this machine
 * now, for a suite (default: the only one). The AIN-300 self-check is measured for the suite
 * that has it.
 */
async function main(): Promise<void> {
  if (process.argv.includes('--only')) return only(process.argv[process.argv.indexOf('--only') + 1]!);
  const name = process.argv.includes('--suite') ? process.argv[process.argv.indexOf('--suite') + 1] : undefined;
  const suite = await loadSuite(name);
  const subject: BenchSuite = { suite, selfCheck: suite.name === 'routing-outcomes' ? { to: '0030', state: 'prod-drift' } : undefined };
  process.stdout.write(`constraint-harness benchmark — suite ${suite.name}, node ${process.version}, ${os.cpus().length} cores, ${os.platform()}-${os.arch()}\n\n`);
  process.stdout.write(formatLines('Start-up', await benchStartup(subject)) + '\n');
  process.stdout.write('\n' + formatLines('Write path', await benchWrites(subject)) + '\n');
  process.stdout.write('\n' + formatLines('Where the time goes (one worker; PostgreSQL with pg_stat_statements)', await benchProfile(subject)) + '\n');
  process.stdout.write('\n' + formatLines('Concurrency', await benchConcurrency(subject)) + '\n');
  if (suite.states.some((state) => state.steps.some((step) => step.kind === 'rows' && step.atScale))) process.stdout.write('\n' + formatLines('Deploy rehearsal', await benchRehearsal(subject)) + '\n');
  process.stdout.write('\n' + formatLines('Sign-off', await benchSignOff(subject)) + '\n');
  if (suite.name === 'routing-outcomes') process.stdout.write('\n' + formatLines('Sign-off at full run count, beside the issue-20 baseline', await benchBaseline()) + '\n');
  process.stdout.write('\n' + formatLines('Mutation testing', await benchMutation(subject)) + '\n');
  process.stdout.write('\n' + formatLines('Providers', await benchProviders()) + '\n');
  process.stdout.write('\n' + formatLines('Derived suites (--suite auto, init)', await benchDerived()) + '\n');
  process.stdout.write('\n' + formatLines('Snapshot (--from-db)', await benchSnapshot()) + '\n');
}

/** `npm run bench -- --only rehearsal`: one section alone. */
async function only(section: string): Promise<void> {
  const subject: BenchSuite = { suite: await loadSuite(undefined) };
  const sections: Record<string, () => Promise<string>> = {
    startup: async () => formatLines('Start-up', await benchStartup(subject)),
    writes: async () => formatLines('Write path', await benchWrites(subject)),
    profile: async () => formatLines('Where the time goes (one worker; PostgreSQL with pg_stat_statements)', await benchProfile(subject)),
    concurrency: async () => formatLines('Concurrency', await benchConcurrency(subject)),
    rehearsal: async () => formatLines('Deploy rehearsal', await benchRehearsal(subject)),
    mutation: async () => formatLines('Mutation testing', await benchMutation(subject)),
    signoff: async () => formatLines('Sign-off', await benchSignOff(subject)),
    baseline: async () => formatLines('Sign-off at full run count, beside the issue-20 baseline', await benchBaseline()),
    providers: async () => formatLines('Providers', await benchProviders()),
    derived: async () => formatLines('Derived suites (--suite auto, init)', await benchDerived()),
    snapshot: async () => formatLines('Snapshot (--from-db)', await benchSnapshot()),
  };
  if (!sections[section]) throw new Error(`--only: one of ${Object.keys(sections).join(', ')}`);
  process.stdout.write((await sections[section]!()) + '\n');
}

await main();
