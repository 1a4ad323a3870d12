import type { PostgresProvider } from '../postgres/index.ts';
import type { Progress } from '../report/progress.ts';
import type { StateReport, VerifyReport } from '../report/verify-report.ts';
import type { StartingState } from '../states/index.ts';
import { checkStateMigration } from './migration-properties.ts';
import type { PropertyGroup, PropertyResult } from './property-result.ts';
import type { Suite } from './suite.ts';
import { openWorkbench, type SetupTimings, type Workbench } from './workbench.ts';
import { checkConcurrentFlows, checkLiveDeploy } from './concurrency-properties.ts';
import { checkWrites, prepareWriteTarget, type WriteContext } from './write-properties.ts';

export interface VerifyOptions {
  provider: PostgresProvider;
  migrationsDir: string;
  to?: string;
  states?: string[];
  groups: PropertyGroup[];
  runs: number;
  seed: number;
  path?: string;
  /** Builds the command that replays one failure, for counterexamples. */
  replayCommand: (state: StartingState, group: PropertyGroup, seed: number, path: string) => string;
  /** Builds the `repro` command that prints a failure as a SQL script. */
  scriptCommand?: (state: StartingState, group: PropertyGroup, seed: number, path: string) => string;
  /** Called with each state's report as soon as the state is done (partial reports on Ctrl-C). */
  onStateDone?: (report: StateReport, header: Omit<VerifyReport, 'ok' | 'states'>) => void;
  /** Live progress (a terminal display, or lines in CI); default: none. */
  progress?: Progress;
  log: (line: string) => void;
}

/** Runs the selected groups over the selected states on a server the provider starts. */
export async function verify(suite: Suite, options: VerifyOptions, timings?: SetupTimings): Promise<VerifyReport> {
  const bench = await openWorkbench(suite, options);
  try {
    if (timings) Object.assign(timings, bench.timings);
    const reports: StateReport[] = [];
    for (const state of bench.states) {
      const report: StateReport = { name: state.name, story: state.story, expect: state.expect, migration: 'not-run', properties: [] };
      if (options.groups.includes('migration')) await runMigration(state, report, bench, options);
      const writes = options.groups.includes('writes') && (suite.writes?.length ?? 0) > 0;
      const concurrency = options.groups.includes('concurrency') && (suite.concurrency?.length ?? 0) > 0;
      if (writes || concurrency) await runWriteGroups(suite, state, report, writeContext(bench, options), { writes, concurrency });
      options.log(`${state.name}: ${report.properties.every((p) => p.ok) ? 'ok' : 'FAILED'}`);
      reports.push(report);
      options.onStateDone?.(report, header(bench, options));
    }
    return { ok: reports.every((report) => report.properties.every((property) => property.ok)), ...header(bench, options), states: reports };
  } finally {
    await bench.close();
  }
}

export function writeContext(bench: Workbench, options: Pick<VerifyOptions, 'runs' | 'seed' | 'path' | 'replayCommand' | 'scriptCommand' | 'progress'>): WriteContext {
  return {
    templates: bench.templates,
    migrator: bench.migrator,
    to: bench.to,
    reference: 'catalog' in bench.reference ? bench.reference.catalog : undefined,
    runs: options.runs,
    seed: options.seed,
    path: options.path,
    replayCommand: (state, seed, path) => options.replayCommand(state, 'writes', seed, path),
    scriptCommand: options.scriptCommand && ((state, seed, path) => options.scriptCommand!(state, 'writes', seed, path)),
    progress: options.progress,
    concurrencyReplay: (state, seed, path) => options.replayCommand(state, 'concurrency', seed, path),
    concurrencyScript: options.scriptCommand && ((state, seed, path) => options.scriptCommand!(state, 'concurrency', seed, path)),
  };
}

async function runMigration(state: StartingState, report: StateReport, bench: Workbench, options: VerifyOptions): Promise<void> {
  if ('error' in bench.reference) {
    report.migration = 'failed';
    report.error = bench.reference.error;
    report.properties.push(referenceFailure(bench.reference.error, bench.to, options.seed));
    return;
  }
  const result = await checkStateMigration(state, {
    templates: bench.templates,
    migrator: bench.migrator,
    to: bench.to,
    reference: bench.reference.catalog,
    runs: options.runs,
    seed: options.seed,
    path: options.path,
    replayCommand: (s, seed, path) => options.replayCommand(s, 'migration', seed, path),
    progress: options.progress,
  });
  report.migration = result.outcome;
  if (result.error) report.error = result.error;
  if (result.catalogDiff.length) report.catalogDiff = result.catalogDiff;
  report.properties.push(...result.properties);
}

/**
 * The writes and concurrency groups for one state: one migrated database that every run
 * shares on fresh keys, plus the live deploy where the suite asks for it.
 */
async function runWriteGroups(suite: Suite, state: StartingState, report: StateReport, context: WriteContext, groups: { writes: boolean; concurrency: boolean }): Promise<void> {
  const target = await prepareWriteTarget(state, context);
  if ('skipped' in target) {
    const names = [groups.writes && 'writes', groups.concurrency && 'concurrency'].filter(Boolean).join(' and ');
    report.skipped = [...(report.skipped ?? []), `${names}: ${target.skipped}`];
    return;
  }
  try {
    if (groups.writes) {
      for (const scenario of suite.writes ?? []) report.properties.push((await checkWrites(state, scenario, target.database, context)).property);
    }
    if (groups.concurrency) {
      const concurrencyContext = { ...context, replayCommand: context.concurrencyReplay ?? context.replayCommand, scriptCommand: context.concurrencyScript };
      for (const scenario of suite.concurrency ?? []) {
        report.properties.push((await checkConcurrentFlows(state, scenario, target.database, concurrencyContext)).property);
        if (scenario.deployStates.includes(state.name)) {
          const deploy = await checkLiveDeploy(state, target.history, scenario, concurrencyContext);
          if (deploy) report.properties.push(deploy.property);
        }
      }
    }
  } finally {
    await target.database.drop();
  }
}

function header(bench: Workbench, options: VerifyOptions): Omit<VerifyReport, 'ok' | 'states'> {
  return {
    postgres: { version: bench.server.version, provider: bench.server.provider },
    migrations: { dir: options.migrationsDir, to: bench.to },
    seed: options.seed,
    runs: options.runs,
    finishedAt: new Date().toISOString(),
    targetConstraints: targetConstraints(bench),
  };
}

/** The constraints of the reference catalog that the target revision's SQL names. */
function targetConstraints(bench: Workbench): { table: string; name: string; definition: string }[] {
  if (!('catalog' in bench.reference)) return [];
  const text = bench.migrator.target(bench.to).up.map((statement) => statement.sql).join('\n');
  return bench.reference.catalog.constraints.filter((c) => text.includes(c.name)).map((c) => ({ table: c.table, name: c.name, definition: c.definition }));
}

/** Without a reference catalog no state can be judged: every state reports why. */
function referenceFailure(error: string, to: string, seed: number): PropertyResult {
  return {
    name: 'chain-applies-to-empty-database',
    group: 'migration',
    ok: false,
    runs: 1,
    ms: 0,
    seed,
    counterexample: { steps: ['empty database', `migrate to ${to}`], expected: `the chain up to ${to} applies`, actual: error },
  };
}
