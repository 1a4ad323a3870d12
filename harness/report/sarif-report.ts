import path from 'node:path';
import type { Log, Result } from 'sarif';
import type { PropertyResult } from '../run/property-result.ts';
import type { StateReport, VerifyReport } from '../verify/verify-report.ts';

const INFORMATION_URI = 'https://www.npmjs.com/package/constraint-harness';

/**
 * The report as SARIF 2.1.0, for GitHub code scanning: one result per failed property, located
 * at the migration file and line of the statement involved, so that it shows on the pull
 * request's diff. The statement is, in order: the one a migration error names (`file:line`),
 * the target's statement that names the constraint the failure involves, the target's first.
 * Paths are relative to the root of the repository the run is in (as code scanning reads them), else to the working directory.
 */
export function formatSarifReport(report: VerifyReport, version: string): string {
  const failures = report.states.flatMap((state) => state.properties.filter((p) => !p.ok).map((property) => ({ state, property })));
  const rules = [...new Set(failures.map((f) => f.property.name))].map((name) => ({
    id: name,
    name: name.replace(/(^|-)(\w)/g, (_, __, c: string) => c.toUpperCase()),
    shortDescription: { text: `constraint-harness property ${name}` },
    fullDescription: { text: `The migration under test breaks the property ${name} from at least one starting state: a valid write refused, an invalid one committed, rows lost, or a deploy that does not converge.` },
    help: { text: 'Replay the failure with the command in the message (same seed and path), or print it as a SQL script with `npx constraint-harness repro`.' },
    defaultConfiguration: { level: 'error' as const },
  }));
  const results: Result[] = failures.map(({ state, property }) => result(report, state, property));
  const log: Log = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'constraint-harness', version, informationUri: INFORMATION_URI, rules } },
        automationDetails: { id: `constraint-harness/${report.migrations.to}/` },
        results,
      },
    ],
  };
  return JSON.stringify(log, null, 2) + '\n';
}

function result(report: VerifyReport, state: StateReport, property: PropertyResult): Result {
  const example = property.counterexample;
  const where = locate(report, state, property);
  const lines = [
    `${state.name}/${property.name} failed (seed ${property.seed}${property.path ? `, path ${property.path}` : ''}): ${state.story}`,
    ...(example ? [`expected: ${example.expected}`, `actual: ${example.actual}`, ...example.steps.map((s, i) => `  ${i + 1}. ${s}`)] : []),
    ...(example?.replay ? [`replay: ${example.replay}`] : []),
    ...(example?.script ? [`as a script: ${example.script}`] : []),
  ];
  return {
    ruleId: property.name,
    level: 'error',
    message: { text: lines.join('\n') },
    locations: [{ physicalLocation: { artifactLocation: { uri: where.file.split(path.sep).join('/') }, region: { startLine: where.line } } }],
    partialFingerprints: { constraintHarness: `${report.migrations.to}/${state.name}/${property.name}` },
    properties: { state: state.name, seed: property.seed, ...(example?.replay ? { replay: example.replay } : {}) },
  };
}

/** The file and line a failure is about. */
function locate(report: VerifyReport, state: StateReport, property: PropertyResult): { file: string; line: number } {
  const target = report.migrations.target;
  const fallback = { file: target?.file ?? report.migrations.dir, line: target?.line ?? 1 };
  if (!target) return fallback;
  const example = property.counterexample;
  const text = [state.error, example?.actual, ...(example?.details ?? [])].filter(Boolean).join('\n');
  // a migration error says `0031_x.sql:7: 23514 …`: the target's own file, or another of the chain beside it
  const named = /(?:^|\s)([\w.+-]+(?:\/[\w.+-]+)?\.(?:sql|py)):(\d+):/m.exec(text);
  if (named) {
    const [, file, line] = named;
    const candidate = target.file.endsWith(file!) ? target.file : path.join(path.dirname(target.file), path.basename(file!));
    return { file: candidate, line: Number(line) };
  }
  const constraints = [example?.error?.constraint, ...(report.targetConstraints ?? []).map((c) => c.name).filter((name) => text.includes(name))].filter((c): c is string => Boolean(c));
  for (const constraint of constraints) {
    // the statement that defines it, before one that merely names it (a DROP … IF EXISTS)
    const defines = new RegExp(`CONSTRAINT\\s+"?${constraint.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"?\\s+(CHECK|UNIQUE|FOREIGN|PRIMARY|EXCLUDE|NOT)`, 'i');
    const statement = target.statements.find((s) => defines.test(s.text)) ?? target.statements.find((s) => s.text.includes(constraint));
    if (statement) return { file: target.file, line: statement.line };
  }
  return fallback;
}
