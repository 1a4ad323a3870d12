import os from 'node:os';
import { formatLines } from './measure.ts';
import { benchStartup } from './startup.ts';
import { benchConcurrency } from './concurrency.ts';
import { benchProviders } from './providers.ts';
import { benchWrites } from './writes.ts';

/** `npm run bench`: every figure SPEC §8 asks for, measured on this machine now. */
async function main(): Promise<void> {
  process.stdout.write(`constraint-harness benchmark — node ${process.version}, ${os.cpus().length} cores, ${os.platform()}-${os.arch()}\n\n`);
  const startup = await benchStartup();
  try {
    process.stdout.write(formatLines('Start-up', startup.lines) + '\n');
  } finally {
    await startup.server.stop();
  }
  process.stdout.write('\n' + formatLines('Write path', await benchWrites()) + '\n');
  process.stdout.write('\n' + formatLines('Concurrency', await benchConcurrency()) + '\n');
  process.stdout.write('\n' + formatLines('Providers', await benchProviders()) + '\n');
}

await main();
