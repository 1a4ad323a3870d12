import os from 'node:os';
import { loadSuite } from '../harness/cli/load-suite.ts';
import type { BenchSuite } from './bench-context.ts';
import { benchConcurrency } from './concurrency.ts';
import { formatLines } from './measure.ts';
import { benchProviders } from './providers.ts';
import { benchStartup } from './startup.ts';
import { benchWrites } from './writes.ts';

/**
 * `npm run bench [-- --suite NAME]`: every figure SPEC §8 asks for, measured on this machine
 * now, for a suite (default: the only one). The AIN-300 self-check is measured for the suite
 * that has it.
 */
async function main(): Promise<void> {
  const name = process.argv.includes('--suite') ? process.argv[process.argv.indexOf('--suite') + 1] : undefined;
  const suite = await loadSuite(name);
  const subject: BenchSuite = { suite, selfCheck: suite.name === 'routing-outcomes' ? { to: '0030', state: 'prod-drift' } : undefined };
  process.stdout.write(`constraint-harness benchmark — suite ${suite.name}, node ${process.version}, ${os.cpus().length} cores, ${os.platform()}-${os.arch()}\n\n`);
  process.stdout.write(formatLines('Start-up', await benchStartup(subject)) + '\n');
  process.stdout.write('\n' + formatLines('Write path', await benchWrites(subject)) + '\n');
  process.stdout.write('\n' + formatLines('Concurrency', await benchConcurrency(subject)) + '\n');
  process.stdout.write('\n' + formatLines('Providers', await benchProviders()) + '\n');
}

await main();
