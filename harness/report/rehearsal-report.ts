import type { LedgerEntry, LockHold } from '../rehearsal/lock-ledger.ts';
import { modeName } from '../catalog/lock-modes.ts';
import type { TimelineBar } from '../rehearsal/load-summary.ts';
import type { Projection } from '../rehearsal/projection.ts';
import type { LoadReport, RehearsalReport } from '../rehearsal/rehearsal-result.ts';
import { oneLine } from '../migrate/index.ts';
import { formatFailure } from './console-report.ts';

const n = (value: number) => value.toLocaleString('en-US');
const ms = (value: number) => (value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`);
const locks = (entry: Pick<LedgerEntry, 'locks'>) => entry.locks.map((l) => `${modeName(l.mode)} on ${l.relation}`).join(', ') || '—';

/** What a statement did besides taking locks: rewrote a table, validated a constraint, failed. */
function effects(entry: LedgerEntry): string {
  const parts = [...(entry.rewrite ? [`rewrites ${entry.rewritten.join(', ')}`] : []), ...(entry.validated ? [`validates ${entry.constraints.join(', ')} (scan)`] : [])];
  if (entry.transaction === 'autocommit') parts.push('own transaction');
  if (entry.transaction === 'outside') parts.push('outside a transaction: locks not readable');
  if (entry.error) parts.push(`FAILED ${entry.error}`);
  return parts.join('; ');
}

export function describeHold(hold: LockHold): string {
  return `${modeName(hold.mode)} on ${hold.relation} ${ms(hold.heldMs)} (from ${hold.fromStep})`;
}

export function describeProjection(p: Projection): string[] {
  const lines = [
    `${modeName(p.mode)} on ${p.relation} held ${p.points.map((x) => ms(x.ms)).join(' / ')} at ${p.points.map((x) => n(x.rows)).join(' / ')} rows: ${p.fit.fixedMs} ms + ${p.fit.perMillionRowsMs} ms per million rows${p.points.length === 1 ? ' (one size measured: taken as proportional to rows)' : ''}`,
  ];
  if (p.check) {
    const rounds = p.check.rounds && p.check.rounds > 1 ? `; median of ${p.check.rounds} rounds, worst ${(p.check.worstError! * 100).toFixed(1)}%` : '';
    lines.push(`check: from the two smaller sizes, ${ms(p.check.projectedMs)} projected at ${n(p.check.rows)} rows, ${ms(p.check.measuredMs)} measured (error ${(p.check.error * 100).toFixed(1)}%${rounds})`);
  }
  lines.push(`holds ${modeName(p.mode)} on ${p.relation} for ~${ms(p.lockHeldMs)} at ${n(p.prodRows)} rows`);
  return lines;
}

/** `5 × 55P03` */
function failedAttempts(load: LoadReport): string {
  const counts = new Map<string, number>();
  for (const a of load.attempts.filter((a) => !a.ok)) counts.set(a.sqlstate ?? 'error', (counts.get(a.sqlstate ?? 'error') ?? 0) + 1);
  return [...counts].map(([code, count]) => `${count} × ${code}${code === '55P03' ? ' lock timeout' : ''}`).join(', ');
}

function loadLines(load: LoadReport): string[] {
  const setup = [`${load.writers} writer(s) × ${load.rate} flows/s`, load.longReaderMs !== undefined ? `long reader ${load.longReaderMs} ms` : 'no long reader', load.lockTimeoutMs !== undefined ? `lock_timeout ${load.lockTimeoutMs} ms, up to ${load.retries} retries` : 'no lock_timeout'];
  const lines = [`writers under load at ${n(load.rows)} rows: ${setup.join(', ')}`, `  phase    writes      p50       p99  max stall  blocked`];
  for (const [name, p] of Object.entries(load.phases)) lines.push(`  ${name.padEnd(7)} ${String(p.writes).padStart(7)} ${ms(p.p50Ms).padStart(8)} ${ms(p.p99Ms).padStart(9)} ${ms(p.maxStallMs).padStart(10)} ${String(p.blocked).padStart(8)}`);
  lines.push(
    `  pile-up: up to ${load.pileUp.maxQueue} session(s) queued behind the migration; longest lock wait of a write ${ms(load.pileUp.maxStallMs)}; the migration waited ${ms(load.pileUp.migrationWaitMs)} for its locks${load.pileUp.readerHeldMs !== undefined ? `; the reader held ACCESS SHARE ${ms(load.pileUp.readerHeldMs)}` : ''}`,
    `  deploy: ${load.converged ? 'converged' : 'did NOT converge'} after ${load.attempts.length} attempt(s)${load.attempts.length > 1 ? ` (${failedAttempts(load)})` : ''}${load.error ? `: ${load.error}` : ''}; ${load.holds.map((h) => `${modeName(h.mode)} on ${h.relation} held ${ms(h.ms)} under load`).join(', ') || 'no writer-blocking lock held'}`,
    `  ${load.flows} flow(s), ${load.writes} statement(s) checked against the model; ${load.samples} activity samples`,
  );
  return lines;
}

/** The readable summary `rehearse` prints. */
export function formatRehearsalConsole(report: RehearsalReport): string {
  const lines: string[] = [];
  const sizes = report.build.sizes;
  lines.push(`rehearsal of ${report.revisions.join(', ')} in state ${report.state} (runner ${report.runner})`);
  const asIs = sizes.every((s) => s.loadedRows === 0);
  lines.push(asIs ? `state copied at its own size, ${sizes.map((s) => n(s.rows)).join(' / ')} rows in its largest table, in ${sizes.map((s) => ms(s.ms)).join(' / ')}` : `state built at ${sizes.map((s) => n(s.rows)).join(' / ')} rows in ${sizes.map((s) => ms(s.ms)).join(' / ')} (${n(report.build.rowsPerSecond)} rows/s loaded)`, '');
  lines.push(`lock ledger at ${n(report.rows)} rows (locks the deploying session holds after each message):`);
  for (const entry of report.statements) lines.push(`  ${entry.step.padEnd(14)} ${ms(entry.ms).padStart(8)}  ${locks(entry)}${effects(entry) ? `  [${effects(entry)}]` : ''}`, `  ${' '.repeat(14)} ${' '.repeat(8)}  ${oneLine(entry.sql, 100)}`);
  lines.push(`  held until the end of their transaction: ${report.holds.map(describeHold).join('; ') || 'none'}`);
  for (const flag of report.flags) lines.push(`  ⚠ ${flag.message}`);
  lines.push('');
  if (report.projection) lines.push('projection:', ...describeProjection(report.projection).map((l) => `  ${l}`), '');
  if (report.load) lines.push(...loadLines(report.load), '');
  if (report.suggestion) {
    lines.push('suggested instead:', ...report.suggestion.changes.map((c) => `  - ${c}`));
    if (report.suggestion.load) lines.push(...loadLines(report.suggestion.load).map((l) => `  ${l}`));
    if (report.suggestion.projection) lines.push(...describeProjection(report.suggestion.projection).map((l) => `  ${l}`));
    lines.push('');
  }
  for (const property of report.properties) {
    lines.push(`${property.ok ? '✓' : '✗'} ${property.name}${property.name.startsWith('writes') ? ` (${property.runs} flows)` : ''}${property.notes?.length ? `: ${property.notes.join('; ')}` : ''}`);
  }
  for (const property of report.properties.filter((p) => !p.ok)) lines.push('', ...formatFailure(report.state, property));
  const failed = report.properties.filter((p) => !p.ok).length;
  lines.push('', `${report.ok ? 'PASSED' : 'FAILED'}: ${report.properties.length - failed} of ${report.properties.length} rehearsal properties hold (state ${report.state}, ${n(report.rows)} rows, ${ms(report.ms)})`);
  return lines.join('\n');
}

/** The rehearsal as a section of report.md: ledger, projection, writers, and the deploy's timeline as a Mermaid gantt chart. */
export function formatRehearsalMarkdown(report: RehearsalReport, level = '##'): string[] {
  const out: string[] = [`${level} Deploy rehearsal: ${report.state} at ${n(report.rows)} rows — ${report.ok ? 'PASSED' : 'FAILED'}`, ''];
  for (const property of report.properties) out.push(`- ${property.ok ? '✅' : '❌'} \`${property.name}\`${property.notes?.length ? `: ${property.notes.join('; ')}` : ''}`);
  out.push('', `${level}# Lock ledger at ${n(report.rows)} rows`, '', '| message | ms | locks held after it | rewrite | validated | |', '|---|---:|---|---|---|---|');
  for (const e of report.statements) out.push(`| \`${oneLine(e.sql, 80).replace(/\|/g, '\\|')}\` | ${e.ms} | ${locks(e)} | ${e.rewrite ? e.rewritten.join(', ') : ''} | ${e.constraints.join(', ')} | ${[e.transaction === 'transaction' ? '' : e.transaction, e.error ?? ''].filter(Boolean).join('; ')} |`);
  out.push('', `Held until the end of their transaction: ${report.holds.map(describeHold).join('; ') || 'none'}.`, '');
  for (const flag of report.flags) out.push(`> ⚠️ ${flag.message}`, '');
  if (report.projection) out.push(`${level}# Projection to ${n(report.prodRows)} rows`, '', ...describeProjection(report.projection).map((l) => `- ${l}`), '');
  if (report.load) out.push(`${level}# Writers under load`, '', '```', ...loadLines(report.load), '```', '', ...gantt(report.load.timeline, `Deploy of ${report.revisions.join(', ')} at ${n(report.rows)} rows`), '');
  if (report.suggestion) {
    out.push(`${level}# Suggested instead`, '', ...report.suggestion.changes.map((c) => `- ${c}`), '');
    if (report.suggestion.sql) out.push('```sql', report.suggestion.sql, '```', '');
    if (report.suggestion.load) out.push('Rehearsed the same way:', '', '```', ...loadLines(report.suggestion.load), '```', '', ...gantt(report.suggestion.load.timeline, 'Suggested deploy'), '');
  }
  return out;
}

/** A Mermaid gantt chart (GitHub renders it in place): one section per session, times in ms from the writers' start. */
export function gantt(bars: readonly TimelineBar[], title: string): string[] {
  if (bars.length === 0) return ['(no lock waits or holds were sampled)'];
  const clean = (text: string) => text.replace(/[:;#]/g, ' ').trim();
  const tag = { hold: 'crit, ', wait: 'active, ', stall: '', failed: 'done, ' } as const;
  const sessions = [...new Set(bars.map((b) => b.session))];
  const lines = ['```mermaid', 'gantt', `  title ${clean(title)} (ms from the writers' start)`, '  dateFormat x', '  axisFormat %S.%L s'];
  for (const session of sessions) {
    lines.push(`  section ${clean(session)}`);
    for (const bar of bars.filter((b) => b.session === session)) lines.push(`  ${clean(bar.label)} :${tag[bar.kind]}${Math.round(bar.start)}, ${Math.max(Math.round(bar.end), Math.round(bar.start) + 1)}`);
  }
  lines.push('```');
  return lines;
}
