import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { SetupError, errorMessage } from '../errors.ts';
import { redactPasswords } from '../postgres/index.ts';
import { formatConsoleReport } from '../report/console-report.ts';
import { writeReports } from '../report/write-reports.ts';
import { mergeShardReports, type ShardInput } from '../verify/merge-reports.ts';
import { exitCodeOf, type VerifyReport } from '../verify/verify-report.ts';
import { log } from './verify-command.ts';

/** `merge-reports DIR… --report OUT`: the shards' report.json joined into one report; exit 0 or 1 as one run would. */
export async function runMerge(dirs: string[], flags: { report?: string; json?: boolean }): Promise<number> {
  const inputs: ShardInput[] = [];
  for (const dir of dirs) {
    const file = dir.endsWith('.json') ? dir : path.join(dir, 'report.json');
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new SetupError(`merge-reports: cannot read ${file}: ${errorMessage(error)}`);
    }
    try {
      inputs.push({ source: file, report: JSON.parse(text) as VerifyReport });
    } catch (error) {
      throw new SetupError(`merge-reports: ${file} is not a report.json: ${errorMessage(error)}`);
    }
  }
  const report = mergeShardReports(inputs);
  log(`merged ${inputs.length} shard(s): ${report.states.length} state(s), ${report.states.reduce((n, s) => n + s.properties.length, 0)} properties`);
  if (flags.report) log(`wrote ${(await writeReports(flags.report, report)).join(', ')}`);
  process.stdout.write(redactPasswords(flags.json ? JSON.stringify(report, null, 2) : formatConsoleReport(report)) + '\n');
  return exitCodeOf(report);
}
