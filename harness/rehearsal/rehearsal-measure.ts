import { SetupError } from '../errors.ts';
import type pg from 'pg';
import { canNest, type MigrationPlan } from '../migrate/index.ts';
import { connectClient, withClient } from '../postgres/index.ts';
import type { GroupContext } from '../run/group-context.ts';
import type { RehearsalConfig } from '../run/run-config.ts';
import type { StartingState } from '../states/index.ts';
import { deployUnderLoad } from './deploy-under-load.ts';
import { blocksWriters, strength } from '../catalog/lock-modes.ts';
import { holdFrom, timeNested } from './hold-samples.ts';
import { strongestHolds, traceLocks } from './lock-ledger.ts';
import { summariseLoad } from './load-summary.ts';
import { project, type Projection } from './projection.ts';
import type { LoadReport, SizeLedger } from './rehearsal-result.ts';
import type { Deployment } from './retrying-deploy.ts';
import type { ScaledState, ScaledStates } from '../states/scaled-states.ts';
import { checkWriters, type WriterFailure } from './writer-check.ts';
import { median, round } from './numbers.ts';
import type { ConstraintFact } from '../check/model.ts';

/** A rehearsal's sizes and how they are measured: shared by the deploy under test and the suggested one. */
export interface Rehearsal<Op> {
  context: GroupContext<Op>;
  options: RehearsalConfig;
  state: StartingState;
  scaled: ScaledStates;
  sizes: number[];
  prodRows: number;
  /** What a snapshot enforced before the deploy (the model reads it; a suite's own state is known by name). */
  constraintsBefore?: readonly ConstraintFact[];
}

/** A size's ledger, with the plan it traced and the revisions the plan deploys. */
export type MeasuredLedger = SizeLedger & { plan: MigrationPlan; revisions: string[] };

/** One traced ledger per size, and per size and lock (`relation/mode`) every measured hold. */
export interface Ledgers {
  median: MeasuredLedger[];
  samples: Map<number, Map<string, number[]>>;
}

/** Nested repetitions per size on top of the traced run, when the plan can run nested. */
export const HOLD_REPEATS = 7;
/** Otherwise: fresh copies traced per size, the median kept. */
export const COPY_REPEATS = 3;

/**
 * The deploy's lock ledger at every size, and enough measurements of each hold for a line
 * through them to mean something on a shared machine. All sizes are copied, then, when the plan
 * can run nested, each copy runs it HOLD_REPEATS times under a savepoint that is rolled back,
 * the sizes taken in turn (a slow moment of the machine falls on every size alike); then each
 * copy's deploy is traced for the ledger. A plan that cannot run nested (transaction control
 * of its own, statements outside transactions) is traced on COPY_REPEATS rounds of copies.
 */
export async function ledgersAt<Op>(rehearsal: Rehearsal<Op>, deployment: Deployment): Promise<Ledgers> {
  const traced = new Map<number, MeasuredLedger[]>(rehearsal.sizes.map((rows) => [rows, []]));
  const samples = new Map<number, Map<string, number[]>>(rehearsal.sizes.map((rows) => [rows, new Map()]));
  for (let round = 0; round < COPY_REPEATS; round++) {
    const nested = await measureRound(rehearsal, deployment, round, traced, samples);
    if (nested) break;
  }
  const median = rehearsal.sizes.map((rows) => {
    const runs = traced.get(rows)!;
    const middle = [...runs].sort((a, b) => a.totalMs - b.totalMs)[Math.floor(runs.length / 2)]!;
    const holds = [...samples.get(rows)!].map(([lock, values]) => `${lock} ${values.map((v) => Math.round(v)).join('/')} ms`).join('; ');
    rehearsal.context.log(`ledger at ${rows} rows: ${middle.totalMs} ms in the deploy's messages${middle.error ? `, failed: ${middle.error}` : ''}; holds measured: ${holds}`);
    return middle;
  });
  return { median, samples };
}

/** One round: a copy of every size, nested repetitions when possible, then a traced deploy on each. Says whether it could nest. */
async function measureRound<Op>(rehearsal: Rehearsal<Op>, deployment: Deployment, round: number, traced: Map<number, MeasuredLedger[]>, samples: Ledgers['samples']): Promise<boolean> {
  const copies: { copy: ScaledState; client: pg.Client; plan: MigrationPlan; times: Map<string, number>[] }[] = [];
  try {
    for (const rows of rehearsal.sizes) {
      const copy = await rehearsal.scaled.copy(rows, `ledger_${rows}`);
      const client = await connectClient(rehearsal.context.bench.templates.connectionConfig(copy.database)).catch(async (error: unknown) => {
        await copy.drop();
        throw error;
      });
      copies.push({ copy, client, plan: deployment.planFor(await deployment.applied(client)), times: [] });
    }
    if (copies[0]!.plan.migrations.length === 0) throw new SetupError(`nothing to deploy in state ${rehearsal.state.name}: its version table already lists every revision up to ${rehearsal.context.bench.to}`);
    const nested = copies.every((c) => canNest(c.plan));
    if (nested) {
      for (const c of copies) await c.client.query('BEGIN');
      for (let repeat = 0; repeat < HOLD_REPEATS; repeat++) {
        for (let i = 0; i < copies.length; i++) {
          const c = copies[(i + repeat) % copies.length]!;
          const times = await timeNested(c.client, c.plan);
          if (times) c.times.push(times);
        }
      }
      for (const c of copies) await c.client.query('ROLLBACK');
    }
    for (let i = 0; i < copies.length; i++) {
      const c = copies[(i + round) % copies.length]!;
      const ledger = await traceLocks(c.client, c.plan);
      const measured: MeasuredLedger = { rows: c.copy.rows, plan: c.plan, revisions: [...new Set(c.plan.migrations.map((m) => m.revision))], totalMs: ledger.totalMs, statements: ledger.entries, holds: ledger.holds, flags: ledger.flags, ...(ledger.error ? { error: ledger.error } : {}) };
      traced.get(c.copy.rows)!.push(measured);
      const bySize = samples.get(c.copy.rows)!;
      for (const hold of ledger.holds) {
        const key = `${hold.relation}/${hold.mode}`;
        bySize.set(key, [...(bySize.get(key) ?? []), hold.heldMs, ...c.times.map((times) => holdFrom(hold, ledger.entries, times))]);
      }
    }
    return nested;
  } finally {
    for (const c of copies) {
      await c.client.end().catch(() => undefined);
      await c.copy.drop();
    }
  }
}

/** For each relation, its strongest writer-blocking lock: each size's median hold, fitted and projected; longest first. */
export function projectHolds(ledgers: Ledgers, prodRows: number): Projection[] {
  const locks = new Map<string, string>();
  for (const ledger of ledgers.median) {
    for (const hold of strongestHolds(ledger).filter((h) => h.blocksWriters)) {
      const mode = locks.get(hold.relation);
      if (!mode || strength(hold.mode) > strength(mode)) locks.set(hold.relation, hold.mode);
    }
  }
  const sizes = [...ledgers.samples.keys()];
  return [...locks]
    .map(([relation, mode]) => project(relation, mode, sizes.map((rows) => ({ rows, ms: median(ledgers.samples.get(rows)!.get(`${relation}/${mode}`) ?? []) })), prodRows))
    .sort((a, b) => b.lockHeldMs - a.lockHeldMs);
}

/** The deploy under load at the largest size, on a fresh copy; every flow checked against the model. */
export async function loadAt<Op>(rehearsal: Rehearsal<Op>, deployment: Deployment, ledger: Pick<SizeLedger, 'holds'>, lockTimeoutMs: number | undefined): Promise<{ load: LoadReport; failures: WriterFailure[] }> {
  const { context, options, state } = rehearsal;
  const rows = rehearsal.sizes.at(-1)!;
  const copy = await rehearsal.scaled.copy(rows, `load_${rows}`);
  try {
    const config = context.bench.templates.connectionConfig(copy.database);
    const readerTables = context.suite.tables.map((t) => t.name);
    const run = await deployUnderLoad(context.suite, deployment, config, { ...options, readerTables, lockTimeoutMs, seed: context.config.seed, monitor: true, deploy: true });
    const summary = summariseLoad(run, ledger.holds);
    const checked = await withClient(config, (client) => checkWriters(client, context.suite, { state: state.name, ...(rehearsal.constraintsBefore ? { constraintsBefore: rehearsal.constraintsBefore } : {}) }, run.cases, run.deploy));
    const attempts = (run.deploy?.attempts ?? []).map(({ start, end, ok, sqlstate, error }) => ({ start: round(start), end: round(end), ok, ...(sqlstate ? { sqlstate } : {}), ...(error ? { error } : {}) }));
    context.log(`deploy under load at ${rows} rows: ${attempts.length} attempt(s), ${run.deploy?.converged ? 'converged' : 'did not converge'}; writers: during p99 ${summary.phases.during.p99Ms} ms, longest stall ${summary.phases.during.maxStallMs} ms`);
    const load: LoadReport = {
      rows,
      writers: options.writers,
      rate: options.rate,
      ...(options.longReaderMs !== undefined ? { longReaderMs: options.longReaderMs } : {}),
      ...(lockTimeoutMs !== undefined ? { lockTimeoutMs } : {}),
      retries: options.retries,
      converged: run.deploy?.converged ?? false,
      ...(run.deploy?.error ? { error: run.deploy.error } : {}),
      attempts,
      deployStart: run.deployStart === undefined ? undefined : round(run.deployStart),
      deployEnd: run.deployEnd === undefined ? undefined : round(run.deployEnd),
      phases: summary.phases,
      pileUp: { ...summary.pileUp, ...(run.reader ? { readerHeldMs: round(run.reader.end - run.reader.start) } : {}) },
      holds: summary.holds.filter((h) => blocksWriters(h.mode)),
      timeline: summary.timeline,
      flows: checked.checked,
      writes: run.timings.length,
      samples: run.samples.length,
    };
    return { load, failures: checked.failures };
  } finally {
    await copy.drop();
  }
}

