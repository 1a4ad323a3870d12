import path from 'node:path';
import type { Derivation } from './derive-suite.ts';
import { shortValue } from './derived-rows.ts';

/**
 * The declaration `init` writes: what the harness derived, as comments a team reads and edits
 * (the constraints found, the states it will build, the values it chose), and the few fields
 * only the team can fill, commented out.
 */
export function declarationText(derivation: Derivation, options: { migrations: string; configDir: string; runner: string; defaultRunner: string }): string {
  const { suite, found } = derivation;
  const relative = path.relative(options.configDir, options.migrations) || '.';
  const migrations = relative.startsWith('.') ? relative : `./${relative}`;
  const lines: string[] = [
    `// constraint-harness declaration, written by \`constraint-harness init\` from ${migrations}.`,
    '// It declares only what the harness cannot derive; everything in these comments was derived',
    '// from the chain, and is derived again on every run.',
    '//',
    `// The revision under test, ${suite.target}, adds or changes:`,
    ...(found.length ? found.map((f) => `//   - ${f.fact.kind.toUpperCase()} ${f.fact.name} on ${f.table}: ${f.fact.definition}`) : ['//   - no constraint (the writes go to the tables it names)']),
    '//',
    '// The starting states the harness builds, with what the migration must do from each:',
    ...suite.states.filter((s) => !s.name.startsWith('killed-after-')).map((s) => `//   - ${s.name} (${s.expect}): ${s.story}`),
    `//   - ${suite.states.filter((s) => s.name.startsWith('killed-after-')).length} interrupted-deploy state(s): the deploy killed after each statement that commits (runner ${options.runner})`,
    '//',
    '// The values the writes and the rows draw from, per column (replace any under `values`):',
    ...[...derivation.values].flatMap(([table, columns]) => [...columns].map(([column, values]) => `//   ${table}.${column}: ${values.map(shortValue).join(', ') || '(none: the column takes its default)'}`)),
    '//',
    '// With no domain rule, every write is judged by the state differential: each migrated state',
    '// must accept and refuse what the chain applied to an empty database accepts and refuses.',
    "import { defineConfig } from 'constraint-harness';",
    '',
    'export default defineConfig({',
    `  migrations: ${JSON.stringify(migrations)},`,
    `  // runner: ${JSON.stringify(options.runner)}, // how your tool sends each file (default for this chain: ${options.defaultRunner})`,
    '  // drift: [{ name: \'prod\', story: \'PROD has the old CHECK hand-applied\', sql: \'ALTER TABLE … ADD CONSTRAINT … CHECK (…)\' }],',
    '  // values: { \'table.column\': ["\'a value\'", "\'another\'"] },',
    '  // skipStates: [],',
    "  // groups: ['migration', 'writes', 'concurrency'],",
    '});',
    '',
  ];
  return lines.join('\n');
}
