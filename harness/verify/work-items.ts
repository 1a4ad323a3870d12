import { CHAIN_APPLIES, checksFor, REACHES_TARGET, STATE_BUILDS } from '../check/migration-checks.ts';
import { SetupError } from '../errors.ts';
import { LIVE_DEPLOY } from '../groups/concurrency/live-deploy.ts';
import type { RunConfig } from '../run/run-config.ts';
import type { StartingState } from '../states/index.ts';
import type { Suite } from '../suite.ts';

/** One (state, property) unit of work: what a worker runs, and what a shard holds. */
export type ItemKind = 'migration' | 'writes' | 'concurrency' | 'deploy';

export interface WorkItem {
  state: StartingState;
  kind: ItemKind;
  /** Position in the whole run (before sharding), which fixes report order and shard membership. */
  index: number;
}

export { CHAIN_APPLIES, REACHES_TARGET, STATE_BUILDS } from '../check/migration-checks.ts';

/** States the write groups write to: those whose migration must succeed (drift and failure are reported, not written to). */
export function writable(state: StartingState): boolean {
  return state.expect === 'converge' || state.expect === 'noop';
}

/** The work the configuration selects, in report order; why a state gets none of a group's work. */
export function workItems<Op>(suite: Suite<Op>, states: readonly StartingState[], config: RunConfig): { items: WorkItem[]; skipped: Map<string, string[]> } {
  const wants = (group: 'migration' | 'writes' | 'concurrency', property: string | readonly string[]) =>
    config.groups.includes(group) && (!config.property || (typeof property === 'string' ? [property] : property).includes(config.property));
  const items: WorkItem[] = [];
  const skipped = new Map<string, string[]>();
  for (const state of states) {
    const kinds: ItemKind[] = [];
    if (wants('migration', [...checksFor(state.expect, suite.idempotency), REACHES_TARGET, CHAIN_APPLIES, STATE_BUILDS])) kinds.push('migration');
    const writeGroups: ItemKind[] = [];
    if (suite.writes && wants('writes', [suite.writes.name, REACHES_TARGET])) writeGroups.push('writes');
    if (suite.concurrency && wants('concurrency', [suite.concurrency.name, REACHES_TARGET])) writeGroups.push('concurrency');
    if (suite.concurrency && wants('concurrency', [LIVE_DEPLOY, REACHES_TARGET]) && (suite.concurrency.deployStates.includes(state.name) || state.deploy)) writeGroups.push('deploy');
    if (writeGroups.length > 0 && !writable(state)) {
      const why = state.expect === 'drift' ? 'drift is expected: reported, not written to' : 'the migration must fail here: there is no migrated database to write to';
      skipped.set(state.name, [...(skipped.get(state.name) ?? []), `${writeGroups.filter((k) => k !== 'deploy').join(' and ') || 'concurrency'}: ${why}`]);
    } else {
      kinds.push(...writeGroups);
    }
    for (const kind of kinds) items.push({ state, kind, index: items.length });
  }
  return { items, skipped };
}

/** The items of one shard: every `count`-th item, starting at `index` (1-based). */
export function shardItems(items: readonly WorkItem[], config: RunConfig): WorkItem[] {
  if (!config.shard) return [...items];
  return items.filter((item) => item.index % config.shard!.count === config.shard!.index - 1);
}

/** A selection that checks nothing is a usage error, said in one line. */
export function assertSomethingSelected(items: readonly WorkItem[], config: RunConfig, skipped: Map<string, string[]>): void {
  if (items.length > 0) return;
  const reasons = [...skipped].map(([state, why]) => `${state}: ${why.join('; ')}`);
  const selection = `--group ${config.groups.join(',')}${config.states ? ` --states ${config.states.join(',')}` : ''}${config.property ? ` --property ${config.property}` : ''}`;
  throw new SetupError(`nothing to check: ${selection} selects no property${reasons.length ? ` (${reasons.join('; ')})` : ''}`);
}
