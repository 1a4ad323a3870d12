import { SetupError } from '../errors.ts';
import { LIVE_DEPLOY } from '../groups/concurrency/live-deploy.ts';
import { GROUPS, type PropertyResult } from '../run/property-result.ts';
import { verdictOf, type StateReport, type VerifyReport } from './verify-report.ts';
import { CHAIN_APPLIES, REACHES_TARGET, STATE_BUILDS } from './work-items.ts';

/** Where each shard's report came from, for messages. */
export interface ShardInput {
  source: string;
  report: VerifyReport;
}

/**
 * Joins the reports of `verify --shard 1/n` … `n/n` into the report one unsharded run gives:
 * every shard present once, all run with the same chain, revision, runner, seed, runs and
 * PostgreSQL; each state's properties in the order of its work (migration, writes, concurrency,
 * live deploy), its migration outcome from the shard that ran its migration group, and the
 * verdict over everything (a merged run that proved nothing is not a pass).
 */
export function mergeShardReports(inputs: readonly ShardInput[]): VerifyReport {
  if (inputs.length === 0) throw new SetupError('merge-reports: no shard reports given');
  const unsharded = inputs.find((input) => !input.report.shard);
  if (unsharded) throw new SetupError(`merge-reports: ${unsharded.source} is not a shard's report (run verify --shard i/n)`);
  const first = inputs[0]!.report;
  const count = first.shard!.count;
  checkShards(inputs, count);
  const sorted = [...inputs].sort((a, b) => a.report.shard!.index - b.report.shard!.index).map((input) => input.report);
  const states = first.shard!.states.flatMap((name) => {
    const parts = sorted.flatMap((report) => report.states.filter((state) => state.name === name));
    return parts.length ? [mergeState(parts)] : [];
  });
  const rehearsal = sorted.find((report) => report.rehearsal)?.rehearsal;
  const interrupted = sorted.filter((report) => report.interrupted).map((report) => `shard ${report.shard!.index}: ${report.interrupted}`);
  const { shard: _shard, ok: _ok, states: _states, rehearsal: _rehearsal, ...header } = first;
  return {
    ok: interrupted.length === 0 && verdictOf(states) && (rehearsal?.ok ?? true),
    ...header,
    finishedAt: sorted.map((report) => report.finishedAt ?? '').sort().at(-1) || undefined,
    ...(interrupted.length ? { interrupted: interrupted.join('; ') } : {}),
    states,
    ...(rehearsal ? { rehearsal } : {}),
  };
}

function checkShards(inputs: readonly ShardInput[], count: number): void {
  const first = inputs[0]!;
  const same = (what: string, value: (report: VerifyReport) => unknown) => {
    const other = inputs.find((input) => JSON.stringify(value(input.report)) !== JSON.stringify(value(first.report)));
    if (other) throw new SetupError(`merge-reports: ${other.source} and ${first.source} are not shards of one run: different ${what} (${JSON.stringify(value(other.report))} vs ${JSON.stringify(value(first.report))})`);
  };
  same('shard count', (r) => r.shard!.count);
  same('seed', (r) => r.seed);
  same('runs per property', (r) => r.runs);
  same('revision', (r) => r.migrations.to);
  same('chain format and runner', (r) => [r.migrations.format, r.migrations.runner]);
  same('work (items and states)', (r) => [r.shard!.items, r.shard!.states]);
  same('PostgreSQL version', (r) => r.postgres.version);
  const indices = inputs.map((input) => input.report.shard!.index);
  const duplicated = indices.filter((index, i) => indices.indexOf(index) !== i);
  if (duplicated.length) throw new SetupError(`merge-reports: shard ${duplicated[0]}/${count} is given twice`);
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((index) => !indices.includes(index));
  if (missing.length) throw new SetupError(`merge-reports: shard(s) ${missing.map((index) => `${index}/${count}`).join(', ')} missing: a merged report needs every shard`);
}

/** A property's place in a state's report: the order of the state's work items. */
function rank(property: PropertyResult): number {
  if (property.name === LIVE_DEPLOY) return 3;
  return [...GROUPS, 'rehearsal'].indexOf(property.group);
}

const ONCE = new Set([REACHES_TARGET, CHAIN_APPLIES, STATE_BUILDS]);

function mergeState(parts: readonly StateReport[]): StateReport {
  // the migration outcome as the migration group saw it, else as a write group's preparation did
  const source = parts.find((part) => part.properties.some((p) => p.group === 'migration')) ?? parts.find((part) => part.migration !== 'not-run') ?? parts[0]!;
  const seen = new Set<string>();
  const properties = parts
    .flatMap((part) => part.properties)
    .map((property, order) => ({ property, order }))
    .sort((a, b) => rank(a.property) - rank(b.property) || a.order - b.order)
    .map(({ property }) => property)
    .filter((property) => !ONCE.has(property.name) || (!seen.has(property.name) && seen.add(property.name)));
  const skipped = [...new Set(parts.flatMap((part) => part.skipped ?? []))];
  const merged: StateReport = { name: source.name, story: source.story, expect: source.expect, migration: source.migration, properties };
  if (source.error) merged.error = source.error;
  if (source.catalogDiff?.length) merged.catalogDiff = source.catalogDiff;
  const setupErrors = [...new Set(parts.flatMap((part) => (part.setupError ? [part.setupError] : [])))];
  if (setupErrors.length) merged.setupError = setupErrors.join('\n');
  if (skipped.length) merged.skipped = skipped;
  return merged;
}
