import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Migration } from '../migrate/index.ts';
import type { Progress } from '../run/progress.ts';
import type { PropertyResult } from '../run/property-result.ts';
import type { RunConfig } from '../run/run-config.ts';
import { openWorkbench, planRun, type SetupTimings, type Workbench } from '../run/workbench.ts';
import type { PostgresServer } from '../postgres/index.ts';
import type { StartingState } from '../states/index.ts';
import type { Suite } from '../suite.ts';
import { runItem, type ItemResult } from './run-item.ts';
import { SNAPSHOT_STATE } from '../snapshot/snapshot.ts';
import { verdictOf, type StateReport, type TargetSource, type VerifyReport } from './verify-report.ts';
import { assertSomethingSelected, CHAIN_APPLIES, REACHES_TARGET, shardItems, STATE_BUILDS, workItems, type WorkItem } from './work-items.ts';

export interface VerifyHooks {
  /** Called with each state's report as soon as all its work is done (partial reports on Ctrl-C). */
  onStateDone?: (report: StateReport, header: ReportHeader) => void;
  progress?: Progress;
  log?: (line: string) => void;
  /** Receives the set-up timings (for the benchmark). */
  timings?: SetupTimings;
  /** A server already running, used instead of starting one (and left running). */
  server?: PostgresServer;
  /** When the command started (performance.now()): what --budget counts from. Default: when verify is called. */
  startedAt?: number;
}

export type ReportHeader = Omit<VerifyReport, 'ok' | 'states'>;

/**
 * Runs the selected groups over the selected states on a server the provider starts: the
 * (state, property) items run `workers` at a time, each on its own connections and databases,
 * and the report lists them in the suite's order whatever order they finished in.
 */
export async function verify<Op>(suite: Suite<Op>, config: RunConfig, hooks: VerifyHooks = {}): Promise<VerifyReport> {
  const log = hooks.log ?? (() => undefined);
  const budgetEnd = config.budget ? (hooks.startedAt ?? performance.now()) + config.budget.ms - closingReserve(config.budget.ms) : undefined;
  const plan = await planRun(suite, config);
  // the rehearsal's code (and the SQL printer it uses) loads only when it is asked for
  const rehearsal = config.rehearsal ? await import('../rehearsal/rehearsal.ts') : undefined;
  if (config.rehearsal) rehearsal!.rehearsalState(suite, config.rehearsal);
  const { items: all, skipped } = workItems(suite, plan.states, config);
  assertSomethingSelected(all, config, skipped);
  const items = shardItems(all, config);
  const bench = await openWorkbench(suite, config, log, plan, hooks.server);
  try {
    if (hooks.timings) Object.assign(hooks.timings, bench.timings);
    await snapshotPreDeploy(bench, log);
    const context = { suite, bench, config, progress: hooks.progress, log };
    const header = reportHeader(bench, config, all.length, plan.states.map((state) => state.name));
    const results = new Map<WorkItem, ItemResult>();
    const remaining = new Map(plan.states.map((state) => [state.name, items.filter((item) => item.state === state).length]));
    const finishState = (state: StartingState) => {
      const report = stateReport(state, items, results, skipped);
      log(`${state.name}: ${report.properties.every((p) => p.ok) ? 'ok' : 'FAILED'}`);
      hooks.onStateDone?.(report, header);
    };
    let failed = false;
    let started = 0;
    await inParallel(longestFirst(items, config), config.workers, async (item) => {
      if (failed && config.stopAtFirstFailure) return;
      const left = items.length - started++;
      // under --budget: this item's share of the time left, the items not yet started sharing it
      // `workers` at a time; an item that needs less (a property of fixed runs) leaves the rest to
      // those after it, one that needs more to reach --min-runs takes it from them
      const deadline = budgetEnd === undefined ? undefined : { share: performance.now() + Math.max(0, budgetEnd - performance.now()) * (Math.min(config.workers, left) / left), end: budgetEnd };
      const result = await runItem(deadline === undefined ? context : { ...context, config: { ...config, deadline } }, item);
      failed ||= result.properties.some((p) => !p.ok);
      results.set(item, result);
        const stateLeft = remaining.get(item.state.name)! - 1;
      remaining.set(item.state.name, stateLeft);
      if (stateLeft === 0) finishState(item.state);
    });
    // a state with no work at all (every group skipped, said why) is the first shard's to report
    const reportsSkipped = !config.shard || config.shard.index === 1;
    const states = plan.states.filter((state) => items.some((item) => item.state === state) || (reportsSkipped && skipped.has(state.name))).map((state) => stateReport(state, items, results, skipped));
    // the rehearsal is one piece of work: the first shard does it
    const rehearsed = rehearsal && (!config.shard || config.shard.index === 1) ? await rehearsal.rehearse(context) : undefined;
    // a shard's verdict is its own work's (it may hold none); merge-reports gives the run's
    const holds = config.shard ? states.every((state) => !state.setupError && state.properties.every((p) => p.ok)) : verdictOf(states);
    return { ok: holds && (rehearsed?.ok ?? true), ...header, finishedAt: new Date().toISOString(), states, ...(rehearsed ? { rehearsal: rehearsed } : {}) };
  } finally {
    await bench.close();
  }
}

/** How long a run of each kind of item takes, roughly (measured: `npm run bench`, where the time goes). */
const RUN_COST: Record<WorkItem['kind'], number> = { deploy: 4, concurrency: 3, migration: 2, writes: 1 };

/**
 * The order the items start in (the report keeps the suite's): the slowest kinds first, so that
 * two workers do not end with one of them alone on a long item, and under --budget the items
 * whose runs cost most get theirs while the most time is left (cheap ones reach --min-runs in
 * what remains). Mutation testing, which stops at the first failure, keeps the suite's order.
 */
function longestFirst(items: readonly WorkItem[], config: RunConfig): WorkItem[] {
  if (config.stopAtFirstFailure) return [...items];
  return [...items].sort((a, b) => RUN_COST[b.kind] - RUN_COST[a.kind] || a.index - b.index);
}

/** What --budget keeps for after the last item (the rehearsal is not budgeted; dropping the databases, stopping the server, the reports). */
function closingReserve(budgetMs: number): number {
  return 1000 + budgetMs * 0.03;
}

/** Runs `work` over the items, at most `workers` at once; the first failure stops new work and is rethrown once all running work ended. */
async function inParallel<T>(items: readonly T[], workers: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  let failed: { error: unknown } | undefined;
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined && !failed; item = queue.shift()) {
      try {
        await work(item);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(workers, items.length)) }, worker));
  if (failed) throw failed.error;
}

function stateReport(state: StartingState, items: readonly WorkItem[], results: Map<WorkItem, ItemResult>, skipped: Map<string, string[]>): StateReport {
  const mine = items.filter((item) => item.state === state && results.has(item));
  const done = mine.map((item) => results.get(item)!);
  // what the migration group saw says most; otherwise what preparing a write target saw
  const migration = (results.get(mine.find((item) => item.kind === 'migration')!) ?? done.find((r) => r.migration))?.migration;
  const properties = dedupe(done.flatMap((r) => r.properties));
  const report: StateReport = { name: state.name, story: state.story, expect: state.expect, migration: migration?.outcome ?? 'not-run', properties };
  if (migration?.error) report.error = migration.error;
  if (migration?.catalogDiff?.length) report.catalogDiff = migration.catalogDiff;
  if (state.steps.some((step) => step.kind === 'load') && migration) report.finding = finding(migration);
  const notes = [...(skipped.get(state.name) ?? []), ...done.flatMap((r) => r.skipped ?? [])];
  if (notes.length) report.skipped = notes;
  const setupErrors = [...new Set(done.flatMap((r) => (r.setupError ? [r.setupError] : [])))];
  if (setupErrors.length) report.setupError = setupErrors.join('\n');
  return report;
}

/** What the migration did to the team's own data, said as a finding. */
function finding(migration: NonNullable<ItemResult['migration']>): string[] {
  const violating = migration.violating;
  switch (migration.outcome) {
    case 'converged':
      return ['finding: converges, every row kept', ...(migration.keptDrift ?? []).map((line) => `  left as the snapshot had it (outside the chain, untouched by it): ${line}`)];
    case 'noop':
      return ['finding: nothing to apply (the snapshot already records the target), every row kept'];
    case 'failed-atomically':
      if (!violating) return [`finding: fails atomically: ${migration.error?.split('\n')[0] ?? ''}`];
      return [
        `finding: fails atomically: ${violating.count} row(s) of ${violating.table} violate ${violating.constraint}`,
        `  ${violating.keys.length > violating.count ? 'the keys of every row sharing a duplicated value' : violating.keys.length < violating.count ? `the first ${violating.keys.length} keys` : 'their keys'}: ${violating.keys.join(', ')}`,
        `  every one of them, on the source: ${violating.select}`,
      ];
    default:
      return [`finding: ${migration.outcome}${migration.error ? `: ${migration.error.split('\n')[0]}` : ''}`];
  }
}

/** A failure every item of a state finds (the chain does not apply, the state cannot be built, the target is not reached) is reported once. */
function dedupe(properties: readonly PropertyResult[]): PropertyResult[] {
  const once = new Set([REACHES_TARGET, CHAIN_APPLIES, STATE_BUILDS]);
  const seen = new Set<string>();
  return properties.filter((p) => {
    if (!once.has(p.name)) return true;
    if (seen.has(p.name)) return false;
    seen.add(p.name);
    return true;
  });
}

/** The pre-deploy report of a snapshot, read on its template before any work clones it. */
async function snapshotPreDeploy(bench: Workbench, log: (line: string) => void): Promise<void> {
  const built = bench.snapshot && bench.built.get(SNAPSHOT_STATE);
  if (!bench.snapshot || !built || !('template' in built) || !('catalog' in bench.reference)) return;
  const { preDeployReport, formatPreDeploy } = await import('../snapshot/pre-deploy.ts');
  bench.snapshot.facts.preDeploy = await preDeployReport(bench.databases, built.template, bench.migrator, bench.to, bench.reference.catalog);
  for (const line of formatPreDeploy(bench.snapshot.facts.preDeploy)) log(line);
}

function reportHeader(bench: Workbench, config: RunConfig, items: number, states: string[]): ReportHeader {
  return {
    ...(bench.snapshot ? { snapshot: bench.snapshot.facts } : {}),
    postgres: { version: bench.server.version, provider: bench.server.provider },
    migrations: { dir: config.migrationsDir, to: bench.to, format: bench.migrator.chain.format, runner: bench.migrator.runner, target: targetSource(bench.migrator.chain.get(bench.to)) },
    seed: config.seed,
    ...(config.budget ? { budget: config.budget } : { runs: config.runs }),
    targetConstraints: targetConstraints(bench),
    ...(config.shard ? { shard: { ...config.shard, items, states } } : {}),
  };
}

/** Where paths in reports start: the repository the working directory is in (GitHub code scanning reads paths from its root), else the working directory. */
function sourceRoot(): string {
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, '.git'))) return dir;
    if (path.dirname(dir) === dir) return process.cwd();
  }
}

/** The target revision's file (relative to the repository's root) and statements, for reports that point at a line (SARIF). */
function targetSource(migration: Migration): TargetSource {
  return { file: path.relative(sourceRoot(), migration.file) || migration.file, line: migration.statements[0]?.line ?? migration.upLine, statements: migration.statements.map((s) => ({ line: s.line, text: s.sql.slice(0, 4000) })) };
}

/** The constraints of the reference catalog that the target revision's SQL names. */
function targetConstraints(bench: Workbench): { table: string; name: string; definition: string }[] {
  if (!('catalog' in bench.reference)) return [];
  const text = bench.migrator.chain.get(bench.to).statements.map((statement) => statement.sql).join('\n');
  return bench.reference.catalog.constraints.filter((c) => text.includes(c.name)).map((c) => ({ table: c.table, name: c.name, definition: c.definition }));
}
