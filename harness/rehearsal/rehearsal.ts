import os from 'node:os';
import { SetupError } from '../errors.ts';
import type { GroupContext } from '../run/group-context.ts';
import type { RehearsalConfig } from '../run/run-config.ts';
import type { StartingState } from '../states/index.ts';
import type { Suite } from '../suite.ts';
import { ledgersAt, loadAt, projectHolds, type Rehearsal } from './rehearsal-measure.ts';
import type { RehearsalReport } from './rehearsal-result.ts';
import { rehearsalProperties, stallBudget, trySuggestion } from './rehearsal-verdict.ts';
import { chainDeployment } from './retrying-deploy.ts';
import { assertScalable, ScaledStates } from '../states/scaled-states.ts';
import { readConstraintFacts } from '../catalog/index.ts';
import type { ConstraintFact } from '../check/model.ts';
import { withClient } from '../postgres/index.ts';
import { SNAPSHOT_STATE } from '../snapshot/snapshot.ts';

/**
 * `rehearse`: the deploy of the pending revisions onto a state at production scale. The state
 * is built at N/4, N/2 and N rows; at each size the deploy's lock ledger is traced (which
 * locks each statement holds, for how long, what it rewrites or scans), the holds are fitted
 * to a line and projected to PROD's row count; at N the deploy runs under gateway writers (and
 * behind a long reader, with a lock timeout, when asked), every write checked against the
 * model. A stall budget turns the numbers into a verdict, with a suggested rewrite measured
 * under the same load.
 */
export async function rehearse<Op>(context: GroupContext<Op>): Promise<RehearsalReport> {
  const started = performance.now();
  const snapshot = context.bench.states.find((s) => s.name === SNAPSHOT_STATE && context.bench.snapshot);
  const { state, scaled, sizes, options } = snapshot ? await asIs(context, snapshot) : await atScale(context);
  try {
    // a snapshot is measured at its own size: the projection only goes further when PROD is larger
    const prodRows = Math.max(options.prodRows ?? options.rows, snapshot ? options.rows : 0);
    const constraintsBefore = snapshot ? await constraintsOf(context, scaled, options.rows) : undefined;
    const rehearsal: Rehearsal<Op> = { context, options, state, scaled, sizes, prodRows, ...(constraintsBefore ? { constraintsBefore } : {}) };
    const deployment = chainDeployment(context.bench.migrator, context.bench.to);
    const ledgers = await ledgersAt(rehearsal, deployment);
    const largest = ledgers.median.at(-1)!;
    const projections = projectHolds(ledgers, rehearsal.prodRows);
    const { load, failures } = await loadAt(rehearsal, deployment, largest, options.lockTimeoutMs);
    const budget = stallBudget(options, projections[0], load);
    const suggestion = budget && budget.stallMs > budget.maxMs ? await trySuggestion(rehearsal, largest, projections[0], load) : undefined;
    const loaded = scaled.timings.reduce((sum, t) => sum + t.loadedRows, 0);
    const buildMs = scaled.timings.reduce((sum, t) => sum + t.ms, 0);
    const report: RehearsalReport = {
      ok: false,
      state: state.name,
      revisions: largest.revisions,
      runner: context.bench.migrator.runner,
      rows: options.rows,
      prodRows: rehearsal.prodRows,
      build: { sizes: scaled.timings, rowsPerSecond: Math.round((loaded / Math.max(buildMs, 1)) * 1000) },
      statements: largest.statements,
      holds: largest.holds,
      flags: largest.flags,
      sizes: ledgers.median.map(({ revisions: _r, plan: _p, ...ledger }) => ledger),
      projection: projections[0],
      projections,
      writers: load.phases,
      pileUp: load.pileUp,
      load,
      ...(budget ? { projectedStallMs: budget.projectedMs, maxWriteStallMs: budget.maxMs } : {}),
      ...(suggestion ? { suggestion } : {}),
      properties: [],
      ms: 0,
    };
    report.properties = rehearsalProperties(report, failures, context.config.seed);
    report.ok = report.properties.every((p) => p.ok);
    report.ms = Math.round(performance.now() - started);
    return report;
  } finally {
    await scaled.close();
  }
}

/** The suite's state built at N/4, N/2 and N generated rows. */
async function atScale<Op>(context: GroupContext<Op>): Promise<{ state: StartingState; scaled: ScaledStates; sizes: number[]; options: RehearsalConfig }> {
  const options = context.config.rehearsal!;
  const state = rehearsalState(context.suite, options);
  const sizes = [...new Set([Math.max(1, Math.round(options.rows / 4)), Math.max(1, Math.round(options.rows / 2)), options.rows])];
  const workers = Math.max(2, os.availableParallelism?.() ?? os.cpus().length);
  return { state, scaled: await ScaledStates.build(context.bench.templates, state, sizes, workers, context.log), sizes, options };
}

/** The snapshot at its real size (`rows` becomes its largest table's row count). */
async function asIs<Op>(context: GroupContext<Op>, state: StartingState): Promise<{ state: StartingState; scaled: ScaledStates; sizes: number[]; options: RehearsalConfig }> {
  const { scaled, rows } = await ScaledStates.asIs(context.bench.templates, state, context.log);
  return { state, scaled, sizes: [rows], options: { ...context.config.rehearsal!, rows } };
}

/** What the snapshot enforces before the deploy, for the model that judges the writers. */
async function constraintsOf<Op>(context: GroupContext<Op>, scaled: ScaledStates, rows: number): Promise<ConstraintFact[]> {
  const copy = await scaled.copy(rows, `constraints_${rows}`);
  try {
    return await withClient(context.bench.templates.connectionConfig(copy.database), readConstraintFacts);
  } finally {
    await copy.drop();
  }
}

/**
 * The state a rehearsal deploys onto (`--state`, else the suite's first live-deploy state),
 * checked before any server starts: it must exist and have its rows at scale.
 */
export function rehearsalState<Op>(suite: Suite<Op>, options: Pick<RehearsalConfig, 'state'>): StartingState {
  const name = options.state ?? suite.concurrency?.deployStates[0] ?? suite.states.find((s) => s.expect === 'converge')?.name;
  const state = suite.states.find((s) => s.name === name);
  if (!state) throw new SetupError(name ? `unknown state "${name}" (states: ${suite.states.map((s) => s.name).join(', ')})` : `suite ${suite.name} has no state to rehearse: name one with --state`);
  assertScalable(state);
  return state;
}
