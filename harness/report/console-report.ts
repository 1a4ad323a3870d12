import type { Counterexample, PropertyResult } from '../run/property-result.ts';
import { formatDuration } from '../run/run-config.ts';
import { modeName } from '../catalog/lock-modes.ts';
import { formatServerError } from '../sessions/step-outcome.ts';
import type { VerifyReport } from '../verify/verify-report.ts';
import type { SnapshotFacts } from '../snapshot/snapshot.ts';
import { formatPreDeploy } from '../snapshot/pre-deploy.ts';
import { describeWorkingSet } from '../snapshot/working-set.ts';

/** The readable summary `verify` prints on stdout. */
export function formatConsoleReport(report: VerifyReport): string {
  const lines: string[] = [];
  const width = Math.max(...report.states.map((state) => state.name.length), 5);
  const sent = report.migrations.format ? ` (${report.migrations.format} chain, runner ${report.migrations.runner})` : '';
  lines.push(`PostgreSQL ${report.postgres.version} (${report.postgres.provider}); migrations ${report.migrations.dir}${sent} up to ${report.migrations.to}; seed ${report.seed}`);
  if (report.snapshot) lines.push(...snapshotLines(report.snapshot));
  if (report.shard) lines.push(`shard ${report.shard.index}/${report.shard.count}: this shard's part of the run's ${report.shard.items} work items; \`merge-reports\` the shards' reports for the run's verdict`);
  lines.push('');
  for (const state of report.states) {
    const failed = state.properties.filter((property) => !property.ok);
    const mark = failed.length === 0 && !state.setupError ? 'ok  ' : 'FAIL';
    const runs = Math.max(0, ...state.properties.map((property) => property.runs));
    const groups = [...new Set(state.properties.map((property) => property.group))].join('+') || 'none';
    lines.push(
      `${mark} ${state.name.padEnd(width)}  expect ${state.expect.padEnd(15)} migration ${state.migration.padEnd(17)} ${state.properties.length - failed.length}/${state.properties.length} properties (${groups}, up to ${runs} runs)`,
    );
    if (state.setupError) lines.push(...indent([`setup error (the suite's, not the migration's): ${state.setupError.split('\n')[0]}`, ...state.setupError.split('\n').slice(1)], 7));
    if (state.finding) lines.push(...indent(state.finding, 7));
    if (state.migration === 'failed-atomically' && state.error) lines.push(...indent(state.error.split('\n'), 7));
    if (state.migration === 'drift' && state.catalogDiff) lines.push(...indent(['catalog differs from the target:', ...state.catalogDiff], 7));
    for (const property of state.properties.filter((p) => p.notes?.length)) lines.push(...indent(property.notes!, 7));
    if (state.skipped?.length) lines.push(...indent(state.skipped.map((reason) => `not run: ${reason}`), 7));
  }
  if (report.budget) lines.push(...budgetLines(report, width));
  const failures = report.states.flatMap((state) => state.properties.filter((p) => !p.ok).map((p) => ({ state: state.name, property: p })));
  for (const { state, property } of failures) {
    lines.push('', ...formatFailure(state, property));
  }
  const rehearsal = report.rehearsal;
  if (rehearsal) {
    lines.push('', `deploy rehearsal: ${rehearsal.state} at ${rehearsal.rows} rows`);
    if (rehearsal.projection) lines.push(`  holds ${modeName(rehearsal.projection.mode)} on ${rehearsal.projection.relation} ~${rehearsal.projection.lockHeldMs} ms at ${rehearsal.prodRows} rows (measured ${rehearsal.projection.points.at(-1)!.ms} ms at ${rehearsal.rows})`);
    if (rehearsal.writers) lines.push(`  writers during the deploy: p99 ${rehearsal.writers.during.p99Ms} ms, longest stall ${rehearsal.writers.during.maxStallMs} ms`);
    for (const property of rehearsal.properties) lines.push(`  ${property.ok ? 'ok  ' : 'FAIL'} ${property.name}${property.notes?.length ? `: ${property.notes.join('; ')}` : ''}`);
    for (const property of rehearsal.properties.filter((p) => !p.ok)) lines.push('', ...formatFailure(`rehearsal ${rehearsal.state}`, property));
  }
  const total = report.states.reduce((sum, state) => sum + state.properties.length, 0) + (rehearsal?.properties.length ?? 0);
  const failedCount = failures.length + (rehearsal?.properties.filter((p) => !p.ok).length ?? 0);
  const verdict = report.shard ? `SHARD ${report.shard.index}/${report.shard.count} ${report.ok ? 'PASSED' : 'FAILED'}` : report.ok ? 'PASSED' : 'FAILED';
  const unbuilt = report.states.filter((state) => state.setupError).length;
  lines.push('', `${verdict}: ${total - failedCount} of ${total} properties hold over ${report.states.length} state(s)${rehearsal ? ' and the deploy rehearsal' : ''}${unbuilt ? `; ${unbuilt} state(s) could not be built by the suite's own setup` : ''} (seed ${report.seed})`);
  return lines.join('\n');
}

/** Under --budget: the runs each property got (a property of fixed runs, such as a one-off check, has its own count). */
function budgetLines(report: VerifyReport, width: number): string[] {
  const budget = report.budget!;
  const all = report.states.flatMap((state) => state.properties);
  const short = all.filter((p) => p.runs < budget.minRuns && p.counterexample?.expected.includes('--min-runs')).length;
  return [
    '',
    `runs per property (--budget ${formatDuration(budget.ms)}; at least ${budget.minRuns} to pass${short ? `; ${short} got fewer and did not pass` : ''}):`,
    ...report.states.filter((state) => state.properties.length).map((state) => `  ${state.name.padEnd(width)}  ${state.properties.map((p) => `${p.name} ${p.runs}`).join(', ')}`),
  ];
}

/** Where the snapshot came from, what was copied, and the pre-deploy report: printed before the states. */
function snapshotLines(facts: SnapshotFacts): string[] {
  const lines = [''];
  const copy = facts.copy;
  if (copy) {
    const sampled = copy.tables.filter((t) => t.total !== undefined);
    lines.push(`snapshot: ${facts.source} (PostgreSQL ${facts.sourceVersion ?? '?'}), read in one REPEATABLE READ, READ ONLY transaction: ${copy.rows} row(s) of ${copy.tables.length} table(s) in ${facts.ms} ms${copy.revision ? `; chain up to ${copy.revision}` : ''}`);
    for (const t of sampled) lines.push(`  ${t.table}: took ${t.rows} of ${t.total} row(s)${t.parents ? ` (${t.parents} as parents of sampled rows)` : ''}, left ${Math.max(0, t.total! - t.rows)}${t.orphans ? `; ${t.orphans} reference rows the source lacks too` : ''}`);
    if (copy.outsideChain.length) lines.push(`  copied from the source's own definitions (outside the chain): ${copy.outsideChain.join('; ')}`);
    if (copy.notCopied.length) lines.push(`  not copied (the source's roles, comments, extension versions): ${copy.notCopied.length} difference(s)`);
  }
  if (facts.dump) lines.push(`snapshot: the dump ${facts.source} (from PostgreSQL ${facts.sourceVersion ?? '?'}), read as ${facts.dump.via}: ${facts.dump.statements} statement(s), ${facts.dump.rows} row(s) in ${facts.ms} ms${facts.dump.skipped.length ? `; skipped ${facts.dump.skipped.length}: ${facts.dump.skipped.slice(0, 3).join('; ')}` : ''}`);
  if (facts.sourceAfter) lines.push(`  source after the copy: catalog ${facts.sourceAfter.unchanged ? 'unchanged' : 'CHANGED (by someone else: the harness only read it)'}, ${facts.sourceAfter.sessionsLeft} session(s) of the harness left on it`);
  if (facts.workingSet) lines.push(`  ${describeWorkingSet(facts.workingSet)}`);
  if (facts.preDeploy) lines.push(...formatPreDeploy(facts.preDeploy));
  return lines;
}

export function formatFailure(state: string, property: PropertyResult): string[] {
  const lines = [`✗ ${state} / ${property.name} (${property.group}) failed after ${property.runs} run(s); seed ${property.seed}${property.path ? `, path ${property.path}` : ''}`];
  if (property.counterexample) lines.push(...indent(formatCounterexample(property.counterexample), 2));
  return lines;
}

export function formatCounterexample(counterexample: Counterexample): string[] {
  const lines = ['minimal counterexample:'];
  counterexample.steps.forEach((step, index) => lines.push(`  ${index + 1}. ${step}`));
  lines.push(`expected: ${counterexample.expected}`, `actual:   ${counterexample.actual}`);
  if (counterexample.error) lines.push(...formatServerError(counterexample.error).map((line, i) => `${i === 0 ? 'server:   ' : '          '}${line}`));
  if (counterexample.details?.length) lines.push(...counterexample.details.map((line) => `  ${line}`));
  if (counterexample.sql?.length) lines.push('sql:', ...counterexample.sql.flatMap((sql) => sql.split('\n').map((line) => `  ${line}`)));
  if (counterexample.replay) lines.push(`replay:   ${counterexample.replay}`);
  if (counterexample.script) lines.push(`script:   ${counterexample.script}`);
  return lines;
}

function indent(lines: readonly string[], spaces: number): string[] {
  return lines.map((line) => ' '.repeat(spaces) + line);
}
