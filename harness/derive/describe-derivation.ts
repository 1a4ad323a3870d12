import type { Suite } from '../suite.ts';
import type { Declaration } from './declaration.ts';
import type { Derivation } from './derive-suite.ts';
import { shortValue } from './derived-rows.ts';

/** What the harness derived, for the log: the constraints, the tables written, the values, the rows and the states. */
export function describeDerivation(derivation: Derivation, ms: number): string[] {
  const { suite, found, rows, interruptions } = derivation;
  const lines = [`derived a suite from ${suite.migrationsDir} up to ${suite.target} in ${ms} ms (oracle: the state differential)`];
  lines.push(found.length ? `  constraints the target adds: ${found.map((f) => `${f.fact.kind.toUpperCase()} ${f.fact.name} on ${f.table} (${f.how})`).join('; ')}` : '  constraints the target adds: none found');
  lines.push(`  tables written: ${derivation.tables.join(', ') || 'none'}`);
  for (const [table, values] of derivation.values) {
    lines.push(`  values of ${table}: ${[...values].map(([column, list]) => `${column} ∈ {${list.slice(0, 6).map(shortValue).join(', ')}${list.length > 6 ? `, … ${list.length} in all` : ''}}`).join('; ')}`);
  }
  if (rows) lines.push(`  rows: ${rows.valid.length} the pending migration accepts; violating: ${[...rows.violators].map(([name, list]) => `${name} ${list.length}`).join(', ') || 'none found'} (${rows.how})`);
  const interrupted = suite.states.filter((s) => s.name.startsWith('killed-after-')).length;
  lines.push(`  derived states (${suite.states.length}): ${suite.states.filter((s) => !s.name.startsWith('killed-after-')).map((s) => `${s.name} (${s.expect})`).join(', ')}`);
  lines.push(`  interrupted-deploy states: ${interrupted}${interrupted === 0 && interruptions.length === 0 ? ' (the runner sends the pending revisions so that no kill leaves part of them)' : ''}`);
  const deploys = suite.concurrency?.deployStates ?? [];
  if (deploys.length) lines.push(`  live deploy from: ${deploys.join(', ')}`);
  for (const note of derivation.notes) lines.push(`  note: ${note}`);
  return lines;
}

/** A derived suite with the declaration's own states added and the states it skips left out. */
export function withDeclaredStates<Op>(suite: Suite<Op>, declaration: Declaration | undefined): Suite<Op> {
  if (!declaration) return suite;
  const skip = new Set(declaration.skipStates ?? []);
  return { ...suite, states: [...suite.states.filter((s) => !skip.has(s.name)), ...(declaration.states ?? [])] };
}
