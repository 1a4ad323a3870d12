import path from 'node:path';
import { SetupError } from '../errors.ts';
import { redactPasswords, type ProviderChoice } from '../postgres/index.ts';
import { GROUPS, type PropertyGroup } from '../run/property-result.ts';
import { formatDuration, runConfig, type RehearsalConfig, type RunConfig, type Shard } from '../run/run-config.ts';
import type { ChainFormat, RunnerName } from '../migrate/index.ts';
import { formatConsoleReport } from '../report/console-report.ts';
import { lineProgress, terminalProgress } from '../report/progress.ts';
import { writeReports } from '../report/write-reports.ts';
import { interruptedBy, registerCleanup } from '../shutdown.ts';
import type { Suite } from '../suite.ts';
import { verify } from '../verify/verify.ts';
import { exitCodeOf, type VerifyReport } from '../verify/verify-report.ts';
import { loadSuiteSource } from './load-suite.ts';
import { commandStart } from './command-start.ts';
import { derivedSuite } from './derived-suite.ts';
import { chooseProvider, type PostgresServer } from '../postgres/index.ts';

export interface VerifyFlags extends ProviderChoice, Partial<RehearsalFlags> {
  suite?: string;
  migrations?: string;
  to?: string;
  runner?: RunnerName;
  format?: ChainFormat;
  alembicIni?: string;
  states?: string[];
  group?: PropertyGroup[];
  property?: string;
  runs?: number;
  budget?: number;
  minRuns?: number;
  seed?: number;
  path?: string;
  workers: number;
  shard?: Shard;
  maxWriterDeadlocks?: number;
  json?: boolean;
  report?: string;
  fromDb?: string;
  fromDump?: string;
  sample?: number;
  workingSet?: number;
  expectSnapshot?: 'converge' | 'fail-atomically';
  pgDump?: string;
}

/** The rehearsal's flags, shared by `rehearse` and `verify --rows`. */
export interface RehearsalFlags {
  state?: string;
  rows?: number;
  prodRows?: number;
  writers: number;
  rate: number;
  before: number;
  after: number;
  longReader?: number;
  lockTimeout?: number;
  retries: number;
  maxWriteStall?: number;
}

export function rehearsalConfig(flags: RehearsalFlags, defaultRows: number): RehearsalConfig {
  return {
    state: flags.state,
    rows: flags.rows ?? defaultRows,
    prodRows: flags.prodRows,
    writers: flags.writers,
    rate: flags.rate,
    beforeMs: flags.before,
    afterMs: flags.after,
    longReaderMs: flags.longReader,
    lockTimeoutMs: flags.lockTimeout,
    retries: flags.retries,
    maxWriteStallMs: flags.maxWriteStall,
  };
}

export const log = (line: string) => process.stderr.write(`${redactPasswords(line)}\n`);

/** The run configuration the flags describe (the one place flags become configuration). */
export function configFromFlags<Op>(flags: VerifyFlags, suite: Suite<Op>): RunConfig {
  if (!flags.fromDb && !flags.fromDump && (flags.sample !== undefined || flags.workingSet !== undefined || flags.expectSnapshot || flags.pgDump)) throw new SetupError('--sample, --working-set, --expect-snapshot and --pg-dump apply to a snapshot: give --from-db URL or --from-dump FILE');
  if (flags.path !== undefined && flags.seed === undefined) throw new SetupError('--path replays a failure and needs the --seed it was found with');
  if (flags.budget !== undefined && flags.runs !== undefined) throw new SetupError('--budget and --runs: give one (--budget runs each property as often as the time allows, --runs a fixed number of times)');
  if (flags.budget !== undefined && flags.path !== undefined) throw new SetupError('--budget and --path: a replay runs the one case its path names');
  if (flags.minRuns !== undefined && flags.budget === undefined) throw new SetupError('--min-runs applies with --budget (with --runs, every property gets exactly that many)');
  return runConfig({
    suite: flags.suite,
    migrationsDir: flags.migrations ? path.resolve(flags.migrations) : flags.alembicIni ? path.dirname(path.resolve(flags.alembicIni)) : suite.migrationsDir,
    migrationsFlag: flags.migrations,
    to: flags.to,
    runner: flags.runner,
    format: flags.format,
    alembicIni: flags.alembicIni && path.resolve(flags.alembicIni),
    provider: { provider: flags.provider, url: flags.url, pgVersion: flags.pgVersion, image: flags.image },
    states: flags.states,
    groups: flags.group ?? GROUPS,
    property: flags.property,
    runs: flags.runs ?? 100,
    ...(flags.budget !== undefined ? { budget: { ms: flags.budget, minRuns: flags.minRuns ?? 100 } } : {}),
    seed: flags.seed ?? Math.floor(Math.random() * 2 ** 31),
    path: flags.path,
    workers: flags.workers,
    shard: flags.shard,
    maxWriterDeadlocks: flags.maxWriterDeadlocks,
    ...(flags.fromDb || flags.fromDump ? { snapshot: { fromDb: flags.fromDb, fromDump: flags.fromDump && path.resolve(flags.fromDump), sample: flags.sample, workingSet: flags.workingSet, expect: flags.expectSnapshot, pgDump: flags.pgDump } } : {}),
    ...(flags.rows !== undefined ? { rehearsal: rehearsalConfig(flags as RehearsalFlags, flags.rows) } : {}),
  });
}

/** `verify`: the summary on stdout (or JSON), progress and logs on stderr, reports on disk; exit 0, 1 or 2. */
export async function runVerify(flags: VerifyFlags): Promise<number> {
  const source = await loadSuiteSource(flags.suite);
  if (source.kind === 'suite') return verifySuite(source.suite, flags);
  // a derived suite needs a server to look at the chain: the run then uses the same one
  const server = await chooseProvider({ provider: flags.provider, url: flags.url, pgVersion: flags.pgVersion, image: flags.image }).start();
  try {
    const { suite, flags: derivedFlags } = await derivedSuite(source, flags, server);
    return await verifySuite(suite, derivedFlags, server);
  } finally {
    await server.stop();
  }
}

async function verifySuite(suite: Suite<unknown>, flags: VerifyFlags, server?: PostgresServer): Promise<number> {
  const config = configFromFlags(flags, suite);
  const runs = config.budget ? `--budget ${formatDuration(config.budget.ms)}: as many runs per property as fit, at least ${config.budget.minRuns} to pass` : `${config.runs} runs per property`;
  log(`constraint-harness verify: suite ${suite.name}, seed ${config.seed}, ${runs}, ${config.workers} worker(s)${config.shard ? `, shard ${config.shard.index}/${config.shard.count}` : ''}`);
  const progress = process.stderr.isTTY ? terminalProgress() : lineProgress(log);
  // interrupted (Ctrl-C, SIGTERM) or failed midway: the states that finished still get reported
  const partial: VerifyReport = { ok: false, postgres: { version: 'unknown', provider: flags.provider ?? 'embedded' }, migrations: { dir: config.migrationsDir, to: config.to ?? suite.target ?? '' }, seed: config.seed, states: [] };
  const partialReport = registerCleanup('partial report', async () => {
    progress.stop();
    partial.interrupted = interruptedBy() ?? 'error';
    if (flags.report) log(`interrupted: wrote ${(await writeReports(flags.report, partial)).join(', ')} with the ${partial.states.length} state(s) that finished`);
  });
  const report = await verify(suite, config, {
    ...(server ? { server } : {}),
    startedAt: commandStart(),
    progress,
    log: process.stderr.isTTY ? () => undefined : log,
    onStateDone: (state, header) => {
      Object.assign(partial, header);
      partial.states.push(state);
    },
  }).finally(() => progress.stop());
  // a signal arrived while the run was ending: the partial report stands, the handler exits
  const signal = interruptedBy();
  if (signal) return signal === 'SIGINT' ? 130 : 143;
  partialReport.release();
  if (flags.report) log(`wrote ${(await writeReports(flags.report, report)).join(', ')}`);
  process.stdout.write(redactPasswords(flags.json ? JSON.stringify(report, null, 2) : formatConsoleReport(report)) + '\n');
  return exitCodeOf(report);
}
