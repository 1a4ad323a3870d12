import type { PropertyResult } from '../run/property-result.ts';
import type { RehearsalConfig } from '../run/run-config.ts';
import { modeName } from '../catalog/lock-modes.ts';
import { describeLock, strongestHolds } from './lock-ledger.ts';
import type { Projection } from './projection.ts';
import type { LoadReport, RehearsalReport, SuggestionReport } from './rehearsal-result.ts';
import { ledgersAt, loadAt, projectHolds, type MeasuredLedger, type Rehearsal } from './rehearsal-measure.ts';
import { chainDeployment, type Deployment } from './retrying-deploy.ts';
import { splitValidation } from './suggested-rewrite.ts';
import type { WriterFailure } from './writer-check.ts';
import { round } from './numbers.ts';

export const DEPLOY_CONVERGES = 'deploy-converges-under-load';
export const WRITES_UNDER_LOAD = 'writes-agree-with-model-under-load';
export const STALL_BUDGET = 'deploy-stall-within-budget';

export interface StallBudget {
  maxMs: number;
  /** At PROD's size: the projected hold of the writer-blocking lock, plus the wait in front of it. */
  projectedMs: number;
  /** The longest a writer waited in the rehearsal. */
  measuredMs: number;
  stallMs: number;
}

/**
 * The wait in front of the hold: behind a long reader, the deploy's queued lock request stops
 * writers for the reader's remaining time, or, with a lock timeout, for at most the timeout.
 */
function queueMs(options: Pick<RehearsalConfig, 'longReaderMs'>, lockTimeoutMs: number | undefined): number {
  return options.longReaderMs === undefined ? 0 : (lockTimeoutMs ?? options.longReaderMs);
}

export function stallBudget(options: RehearsalConfig, headline: Projection | undefined, load: LoadReport): StallBudget | undefined {
  if (options.maxWriteStallMs === undefined) return undefined;
  const projectedMs = round((headline?.lockHeldMs ?? 0) + queueMs(options, options.lockTimeoutMs));
  const measuredMs = load.phases.during.maxStallMs;
  return { maxMs: options.maxWriteStallMs, projectedMs, measuredMs, stallMs: Math.max(projectedMs, measuredMs) };
}

/**
 * What to deploy instead, measured: each validating ADD split into ADD … NOT VALID and a
 * VALIDATE of its own (when the revisions have one), under a lock timeout with retries (when
 * the deploy waited for its lock, or a long reader is rehearsed), through the same ledger,
 * projection and load as the deploy under test.
 */
export async function trySuggestion<Op>(rehearsal: Rehearsal<Op>, largest: MeasuredLedger, headline: Projection | undefined, load: LoadReport): Promise<SuggestionReport> {
  const { context, options } = rehearsal;
  const waited = options.longReaderMs !== undefined || load.pileUp.migrationWaitMs > 0;
  const lockTimeoutMs = options.lockTimeoutMs ?? (waited ? Math.max(10, Math.min(200, Math.floor((options.maxWriteStallMs ?? 400) / 2))) : undefined);
  const rewrite = splitValidation(largest.plan, context.bench.migrator);
  const changes = [...(rewrite?.changes ?? [])];
  if (lockTimeoutMs !== undefined && lockTimeoutMs !== options.lockTimeoutMs) changes.push(`SET lock_timeout = '${lockTimeoutMs}ms' for the deploy, and retry it on 55P03 with back-off (up to ${options.retries} times): a queued lock request then stops writers for at most the timeout`);
  if (!rewrite && lockTimeoutMs === options.lockTimeoutMs) {
    const worst = strongestHolds(largest).find((h) => h.blocksWriters);
    const entry = largest.statements.find((s) => s.step === worst?.fromStep);
    const cause = entry?.rewrite ? 'rewrites the table' : entry?.validated ? 'scans the table to validate' : 'holds it';
    const projected = headline && worst && headline.relation === worst.relation && headline.mode === worst.mode ? `, ~${seconds(headline.lockHeldMs)} projected at ${rehearsal.prodRows} rows` : '';
    changes.push(worst ? `${describeLock(worst)} is held ${worst.heldMs} ms at ${largest.rows} rows${projected} from ${worst.fromStep}, which ${cause}: the harness has no rewrite of it to measure` : 'no lock that blocks writers: the stall comes from elsewhere');
    return { changes, retries: options.retries };
  }
  context.log(`rehearsing the suggested deploy: ${changes.join('; ')}`);
  const deployment: Deployment = rewrite ? { applied: (client) => context.bench.migrator.applied(client), planFor: rewrite.planFor } : chainDeployment(context.bench.migrator, context.bench.to);
  const ledgers = rewrite ? await ledgersAt(rehearsal, deployment) : undefined;
  // without a rewrite the statements are the deploy's own: at PROD's size they hold their lock as
  // long as the deploy's projection says, lock timeout or not (a timeout shortens the queue, not the hold)
  const projection = ledgers ? projectHolds(ledgers, rehearsal.prodRows)[0] : headline;
  const measured = await loadAt(rehearsal, deployment, ledgers?.median.at(-1) ?? largest, lockTimeoutMs);
  const hold = projection?.lockHeldMs ?? 0;
  const stallMs = Math.max(measured.load.phases.during.maxStallMs, round(hold + queueMs(options, lockTimeoutMs)));
  const ledger = ledgers?.median.at(-1);
  return {
    changes,
    ...(rewrite ? { sql: rewrite.sql } : {}),
    ...(lockTimeoutMs !== undefined ? { lockTimeoutMs } : {}),
    retries: options.retries,
    ...(ledger ? { ledger: { rows: ledger.rows, totalMs: ledger.totalMs, statements: ledger.statements, holds: ledger.holds, flags: ledger.flags } } : {}),
    ...(projection ? { projection } : {}),
    load: measured.load,
    stallMs,
  };
}

/** The rehearsal's verdict: the deploy converges under load, no valid write is lost, and (with a budget) writers stall within it. */
export function rehearsalProperties(report: RehearsalReport, failures: readonly WriterFailure[], seed: number): PropertyResult[] {
  const load = report.load!;
  const base = { group: 'rehearsal' as const, seed, ms: report.ms };
  const attempts = load.attempts.map((a, i) => `attempt ${i + 1} at ${Math.round(a.start)} ms: ${a.ok ? `applied in ${Math.round(a.end - a.start)} ms` : a.error}`);
  const properties: PropertyResult[] = [
    {
      ...base,
      name: DEPLOY_CONVERGES,
      ok: load.converged,
      runs: 1,
      notes: load.converged && load.attempts.length > 1 ? [`converged after ${load.attempts.length} attempts (lock_timeout ${load.lockTimeoutMs} ms)`] : undefined,
      ...(load.converged ? {} : { counterexample: { steps: attempts, expected: `${report.revisions.join(', ')} applied under load`, actual: load.error ?? 'not applied' } }),
    },
    {
      ...base,
      name: WRITES_UNDER_LOAD,
      ok: failures.length === 0,
      runs: load.flows,
      ...(failures.length ? { counterexample: { ...failures[0]!.counterexample, details: [...(failures[0]!.counterexample.details ?? []), `${failures.length} of ${load.flows} flow(s) not explained by the model`] } } : {}),
    },
  ];
  if (report.maxWriteStallMs !== undefined) properties.push(budgetProperty(report, base));
  return properties;
}

function budgetProperty(report: RehearsalReport, base: Pick<PropertyResult, 'group' | 'seed' | 'ms'>): PropertyResult {
  const load = report.load!;
  const stall = Math.max(report.projectedStallMs!, load.phases.during.maxStallMs);
  const ok = stall <= report.maxWriteStallMs!;
  const headline = report.projection;
  const steps = [
    ...(headline ? [`at ${headline.points.at(-1)!.rows} rows the deploy holds ${modeName(headline.mode)} on ${headline.relation} ${seconds(headline.points.at(-1)!.ms)}; projected to ${report.prodRows} rows: ~${seconds(headline.lockHeldMs)}`] : []),
    ...(load.longReaderMs !== undefined ? [`behind a long reader of ${load.longReaderMs} ms${load.lockTimeoutMs !== undefined ? `, with lock_timeout ${load.lockTimeoutMs} ms` : ''}: ${load.pileUp.maxQueue} session(s) queued behind the migration`] : []),
    `writers under load at ${load.rows} rows: longest stall ${seconds(load.phases.during.maxStallMs)}, p99 ${seconds(load.phases.during.p99Ms)} during the deploy`,
  ];
  const suggestion = report.suggestion;
  const details = suggestion
    ? [
        'suggested:',
        ...suggestion.changes.map((c) => `  - ${c}`),
        ...(suggestion.stallMs !== undefined ? [`rehearsed the same way, the suggested deploy stalls writers ~${seconds(suggestion.stallMs)} (${suggestion.stallMs <= report.maxWriteStallMs! ? 'within' : 'still over'} the budget; measured ${seconds(suggestion.load?.phases.during.maxStallMs ?? 0)} at ${load.rows} rows${suggestion.projection ? `, ${modeName(suggestion.projection.mode)} on ${suggestion.projection.relation} projected ${seconds(suggestion.projection.lockHeldMs)} at ${report.prodRows} rows` : ''}${suggestion.load && !suggestion.load.converged ? '; it did NOT converge' : ''})`] : []),
      ]
    : [];
  return {
    ...base,
    name: STALL_BUDGET,
    ok,
    runs: 1,
    notes: [`writers stall at most ~${seconds(stall)} (projected ${seconds(report.projectedStallMs!)} at ${report.prodRows} rows, measured ${seconds(load.phases.during.maxStallMs)} at ${load.rows}); budget ${report.maxWriteStallMs} ms`],
    ...(ok ? {} : { counterexample: { steps, expected: `writers stalled at most ${report.maxWriteStallMs} ms`, actual: `~${seconds(stall)}`, details, ...(suggestion?.sql ? { sql: [suggestion.sql] } : {}) } }),
  };
}

const seconds = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`);
