import type { PropertyResult } from '../run/property-result.ts';
import { formatCounterexample } from './console-report.ts';
import { formatRehearsalMarkdown } from './rehearsal-report.ts';
import type { VerifyReport } from '../verify/verify-report.ts';

/** `report.md`: what a reviewer reads to sign a release off, in about a minute. */
export function formatMarkdownReport(report: VerifyReport): string {
  const out: string[] = [];
  const properties = [...report.states.flatMap((state) => state.properties), ...(report.rehearsal?.properties ?? [])];
  const failed = properties.filter((p) => !p.ok).length;
  out.push(
    `# constraint-harness: ${report.ok ? 'PASSED' : 'FAILED'}`,
    '',
    `${properties.length - failed} of ${properties.length} properties hold over ${report.states.length} starting state(s).`,
    '',
    `| | |`,
    `|---|---|`,
    `| PostgreSQL | ${report.postgres.version} (${report.postgres.provider}) |`,
    `| migrations | \`${report.migrations.dir}\` up to ${report.migrations.to}${report.migrations.format ? ` (${report.migrations.format} chain, sent as ${report.migrations.runner} sends it)` : ''} |`,
    `| seed | ${report.seed} |`,
    `| runs per property | ${report.runs ?? '—'} |`,
    `| finished | ${report.finishedAt ?? '—'} |`,
    '',
  );
  if (report.targetConstraints?.length) {
    out.push(`## Target constraints (as PostgreSQL prints them after ${report.migrations.to})`, '');
    for (const c of report.targetConstraints) out.push(`- \`${c.table}.${c.name}\`: \`${c.definition}\``);
    out.push('');
  }
  const names = [...new Set(properties.map((p) => p.name))];
  out.push('## Matrix', '', `| state | expect | migration | ${names.join(' | ')} |`, `|---|---|---|${names.map(() => '---').join('|')}|`);
  for (const state of report.states) {
    const cells = names.map((name) => cell(state.properties.find((p) => p.name === name)));
    out.push(`| ${state.name} | ${state.expect} | ${state.migration} | ${cells.join(' | ')} |`);
  }
  out.push('', 'Each cell: result, runs, time; the seed of every property is the run seed above.', '');
  out.push('## States', '');
  for (const state of report.states) {
    out.push(`### ${state.name}`, '', `${state.story}`, '', `- expected: **${state.expect}**, migration: **${state.migration}**`);
    if (state.setupError) out.push("- **setup error** (the suite's own, before the revision under test):", '', '```', state.setupError, '```');
    if (state.error) out.push('- migration error:', '', '```', state.error, '```');
    if (state.catalogDiff?.length) out.push('- catalog differs from the target:', '', '```diff', ...state.catalogDiff, '```');
    for (const reason of state.skipped ?? []) out.push(`- not run: ${reason}`);
    for (const property of state.properties) for (const note of property.notes ?? []) out.push(`- ${property.name}: ${note}`);
    out.push('');
  }
  const failures = report.states.flatMap((state) => state.properties.filter((p) => !p.ok).map((p) => ({ state: state.name, property: p })));
  if (failures.length) {
    out.push('## Counterexamples', '');
    for (const { state, property } of failures) {
      out.push(`### ${state} / ${property.name} (${property.group})`, '', `seed ${property.seed}${property.path ? `, path \`${property.path}\`` : ''}, after ${property.runs} run(s)`, '');
      if (property.counterexample) out.push('```', ...formatCounterexample(property.counterexample), '```', '');
    }
  }
  if (report.rehearsal) out.push(...formatRehearsalMarkdown(report.rehearsal), '');
  return out.join('\n') + '\n';
}

function cell(property: PropertyResult | undefined): string {
  if (!property) return '—';
  return `${property.ok ? '✅ pass' : '❌ **FAIL**'} · ${property.runs} runs · ${property.ms} ms`;
}
