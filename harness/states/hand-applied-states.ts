import { constraintSites, at } from '../mutate/constraint-sites.ts';
import { show, type Node } from '../mutate/predicate-mutants.ts';
import type { Migrator } from '../migrate/index.ts';
import { plainStatesAtPrevious, runSql, type StartingState } from './starting-state.ts';

/**
 * A hand-written suite's derived states: each named CHECK or FOREIGN KEY the target revision
 * adds, already there `NOT VALID` before the target ran (someone hand-applied it, or restored it
 * from a hotfix), over the suite's first state that converges from the revision before the
 * target with its own generated rows and nothing hand-applied. The migration must converge from
 * it: one that skips a constraint it finds leaves it NOT VALID, a catalog unlike a fresh one.
 * A suite that already has such states (a derived one), or whose state of that name exists, gets none.
 */
export function handAppliedStates(states: readonly StartingState[], migrator: Migrator, anchor: string): StartingState[] {
  if (states.some((state) => state.name.startsWith('hand-applied-'))) return [];
  const target = migrator.chain.get(anchor);
  const base = plainStatesAtPrevious(states).find((state) => state.steps.length > 1);
  if (!base) return [];
  const seen = new Set<string>();
  return constraintSites(target.statements).flatMap((site): StartingState[] => {
    if (!site.name || !site.table || !site.added || seen.has(site.name)) return [];
    let sql: string | undefined;
    if (site.kind === 'check') sql = `ALTER TABLE ${site.table} ADD CONSTRAINT ${site.name} CHECK (${show((at(site.statement.tree, site.fields) as { raw_expr: Node }).raw_expr)}) NOT VALID`;
    if (site.kind === 'foreign key' && site.removal === 'statement') sql = /\bNOT\s+VALID\b/i.test(site.statement.sql) ? site.statement.sql : `${site.statement.sql.replace(/;\s*$/, '')} NOT VALID`;
    if (!sql) return [];
    seen.add(site.name);
    const name = `hand-applied-${site.name.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase()}`;
    if (states.some((state) => state.name === name)) return [];
    return [{ name, story: `${base.name}, with ${site.name} hand-applied NOT VALID before the target ran.`, expect: 'converge', steps: [...base.steps, runSql(`${site.name} hand-applied NOT VALID`, sql)] }];
  });
}
