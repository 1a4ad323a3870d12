import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { rehearsalState, rehearse } from '../rehearsal/rehearsal.ts';
import { SNAPSHOT_STATE } from '../snapshot/snapshot.ts';
import type { RehearsalReport } from '../rehearsal/rehearsal-result.ts';
import { redactPasswords } from '../postgres/index.ts';
import { formatRehearsalConsole, formatRehearsalMarkdown } from '../report/rehearsal-report.ts';
import { runConfig, type RunConfig } from '../run/run-config.ts';
import { openWorkbench } from '../run/workbench.ts';
import { resolveSuite } from './derived-suite.ts';
import { configFromFlags, log, rehearsalConfig, type RehearsalFlags, type VerifyFlags } from './verify-command.ts';

/** `rehearse`: the summary (or JSON) on stdout, logs on stderr, report.md and report.json with --report; exit 0, 1 or 2. */
export async function runRehearse(given: RehearsalFlags & Omit<VerifyFlags, 'runs' | 'workers'>): Promise<number> {
  const resolved = await resolveSuite(given);
  const { suite } = resolved;
  const flags = resolved.flags;
  const base = configFromFlags({ ...flags, runs: 1, workers: 1 }, suite);
  const config: RunConfig = runConfig({ ...base, rehearsal: rehearsalConfig(flags, 100_000) });
  // a state that cannot be rehearsed is said before any server starts; a snapshot is rehearsed at its own size
  const state = config.snapshot ? SNAPSHOT_STATE : rehearsalState(suite, config.rehearsal!).name;
  log(`constraint-harness rehearse: suite ${suite.name}, seed ${config.seed}, ${config.snapshot ? 'the snapshot at its own size' : `${config.rehearsal!.rows} rows`}`);
  const bench = await openWorkbench(suite, runConfig({ ...config, states: [state] }), log);
  let report: RehearsalReport;
  try {
    report = await rehearse({ suite, bench, config, log });
  } finally {
    await bench.close();
  }
  const document = { postgres: { version: bench.server.version, provider: bench.server.provider }, migrations: { dir: config.migrationsDir, to: bench.to, format: bench.migrator.chain.format, runner: bench.migrator.runner }, seed: config.seed, ...report };
  if (flags.report) {
    await mkdir(flags.report, { recursive: true });
    const md = [`# constraint-harness rehearse: ${report.ok ? 'PASSED' : 'FAILED'}`, '', `PostgreSQL ${document.postgres.version} (${document.postgres.provider}); migrations \`${document.migrations.dir}\` up to ${document.migrations.to}; seed ${config.seed}`, '', ...formatRehearsalMarkdown(report)];
    await writeFile(path.join(flags.report, 'report.md'), redactPasswords(md.join('\n') + '\n'));
    await writeFile(path.join(flags.report, 'report.json'), redactPasswords(JSON.stringify(document, null, 2) + '\n'));
    log(`wrote ${path.join(flags.report, 'report.md')}, ${path.join(flags.report, 'report.json')}`);
  }
  process.stdout.write(redactPasswords(flags.json ? JSON.stringify(document, null, 2) : formatRehearsalConsole(report)) + '\n');
  return report.ok ? 0 : 1;
}
