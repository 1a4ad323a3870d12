import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { MutantResult, MutationReport } from '../mutate/mutate.ts';
import { redactPasswords } from '../postgres/index.ts';
import { formatCounterexample } from './console-report.ts';

const percent = (score: number) => `${(score * 100).toFixed(1)}%`;
const who = (m: MutantResult) => (m.killedBy ? `${m.killedBy.state} / ${m.killedBy.property}` : (m.reason ?? 'no property failed'));

function counts(report: MutationReport): string {
  const by = (status: MutantResult['status']) => report.mutants.filter((m) => m.status === status).length;
  const notRun = by('not-run');
  return `${by('killed')} killed, ${by('equivalent')} proven equivalent, ${by('survived')} survived${notRun ? `, ${notRun} not run` : ''} of ${report.mutants.length} mutants`;
}

/** One line per mutant as it finishes, for progress. */
export function formatMutantLine(m: MutantResult, index: number, total: number): string {
  return `[${index + 1}/${total}] ${m.id} ${m.status.padEnd(10)} ${(m.ms / 1000).toFixed(1).padStart(6)} s  ${m.description}${m.killedBy ? `  (by ${who(m)})` : ''}`;
}

/** The table `mutate` prints: each mutant, its status, what killed it, its time; the score last. */
export function formatMutationConsole(report: MutationReport): string {
  const lines = [
    `PostgreSQL ${report.postgres.version} (${report.postgres.provider}); ${report.migrations.file} of ${report.migrations.dir}; groups ${report.groups.join('+')}, ${report.runs} runs per property, seed ${report.seed}`,
    '',
    ...report.mutants.map((m) => `${m.id}  ${m.status.padEnd(10)} ${(m.ms / 1000).toFixed(1).padStart(6)} s  ${m.kind.padEnd(9)} ${m.description}\n      ${m.sql}\n      ${who(m)}`),
  ];
  for (const m of report.mutants.filter((m) => m.status === 'survived' || m.status === 'not-run')) {
    lines.push('', `${m.status === 'survived' ? 'SURVIVED' : 'NOT RUN'} ${m.id}: ${m.description}`, `  ${m.sql}`, `  ${m.reason ?? 'no property failed on it'}`, ...(m.hint ? [`  hint: ${m.hint}`] : []));
  }
  lines.push('', `mutation score: ${percent(report.score)} (${counts(report)}; only the proven equivalent ones are left out, a survivor or a mutant not run counts against the suite)`);
  return lines.join('\n');
}

export function formatMutationMarkdown(report: MutationReport): string {
  const out = [
    `# constraint-harness mutation score: ${percent(report.score)}`,
    '',
    `${counts(report)} of \`${report.migrations.file}\` (${report.groups.join(', ')}; ${report.runs} runs per property; seed ${report.seed}; PostgreSQL ${report.postgres.version}).`,
    '',
    '| mutant | kind | change | status | killed by | time |',
    '|---|---|---|---|---|---|',
    ...report.mutants.map((m) => `| ${m.id} | ${m.kind} | ${m.description.replace(/\|/g, '\\|')} | ${m.status === 'killed' ? '✅ killed' : m.status === 'equivalent' ? '➖ equivalent (proven)' : m.status === 'not-run' ? '❌ **not run**' : '❌ **survived**'} | ${who(m).replace(/\|/g, '\\|')} | ${(m.ms / 1000).toFixed(1)} s |`),
    '',
    '## Mutants',
    '',
  ];
  for (const m of report.mutants) {
    out.push(`### ${m.id}: ${m.description}`, '', '```sql', m.sql, '```', '');
    if (m.counterexample) out.push(`Killed by ${who(m)}:`, '', '```', ...formatCounterexample(m.counterexample), '```', '');
    else out.push(m.status === 'equivalent' ? `Equivalent, proven: ${m.reason}.` : `**${m.status === 'survived' ? 'Survived' : 'Not run'}**: ${m.reason ?? 'no property failed'}.${m.hint ? ` (Hint: ${m.hint}.)` : ''}`, '');
  }
  return out.join('\n');
}

export async function writeMutationReports(dir: string, report: MutationReport): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: [string, string][] = [
    ['mutation-report.md', formatMutationMarkdown(report)],
    ['mutation-report.json', JSON.stringify(report, null, 2) + '\n'],
  ];
  for (const [name, content] of files) await writeFile(path.join(dir, name), redactPasswords(content));
  return files.map(([name]) => path.join(dir, name));
}
