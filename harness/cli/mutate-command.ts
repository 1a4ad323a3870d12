import type { MutantKind } from '../mutate/constraint-mutants.ts';
import { mutate } from '../mutate/mutate.ts';
import { redactPasswords } from '../postgres/index.ts';
import { formatMutantLine, formatMutationConsole, writeMutationReports } from '../report/mutation-report.ts';
import { resolveSuite } from './derived-suite.ts';
import { configFromFlags, log, type VerifyFlags } from './verify-command.ts';

export interface MutateFlags extends VerifyFlags {
  minScore?: number;
  kind?: MutantKind[];
}

/** `mutate`: mutation testing of the suite against the revision under test; exit 1 below --min-score. */
export async function runMutate(given: MutateFlags): Promise<number> {
  const resolved = await resolveSuite(given);
  const { suite } = resolved;
  const flags = resolved.flags;
  const config = configFromFlags({ ...flags, group: flags.group ?? ['migration', 'writes'] }, suite);
  log(`constraint-harness mutate: suite ${suite.name}, seed ${config.seed}, ${config.runs} runs per property, groups ${config.groups.join(', ')}`);
  const report = await mutate(suite, config, { kinds: flags.kind, onMutant: (result, index, total) => log(formatMutantLine(result, index, total)) });
  if (flags.report) log(`wrote ${(await writeMutationReports(flags.report, report)).join(', ')}`);
  process.stdout.write(redactPasswords(flags.json ? JSON.stringify(report, null, 2) : formatMutationConsole(report)) + '\n');
  if (flags.minScore !== undefined && report.score < flags.minScore) {
    log(`mutation score ${(report.score * 100).toFixed(1)}% is below --min-score ${(flags.minScore * 100).toFixed(1)}%`);
    return 1;
  }
  return 0;
}
