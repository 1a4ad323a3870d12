import { target, interruptionPoints, planProgram, type Migrator } from '../migrate/index.ts';
import { interruptedDeploy, migratedToBeforeTarget, plainStatesAtPrevious, type StartingState } from './starting-state.ts';

/**
 * The interrupted deploys of a hand-written suite: where its runner does not send the pending
 * revisions as one transaction (`psql`, dbmate `transaction:false`, a file with its own COMMIT),
 * one state per point where a kill (or a `lock_timeout` on the next statement, then a retry)
 * leaves part of the deploy committed. Each starts as the suite's first state that converges
 * from the revision before the target with generated rows and nothing hand-applied (else from
 * that revision alone), and must converge when the chain runs again. A suite that already
 * has such states (a derived one) gets none.
 */
export function interruptedStates(states: readonly StartingState[], migrator: Migrator, anchor: string, to: string): StartingState[] {
  if (states.some((state) => state.steps.some((step) => step.kind === 'interrupted'))) return [];
  const chain = migrator.chain;
  const index = chain.migrations.indexOf(chain.get(anchor));
  if (index <= 0) return [];
  const previous = chain.migrations[index - 1]!.revision;
  const applied = new Set(chain.upTo(previous).map((m) => m.revision));
  const points = interruptionPoints(planProgram(migrator.planTo(applied, to), 'deploy').steps);
  if (points.length === 0) return [];
  const base = plainStatesAtPrevious(states, previous)[0];
  const steps = base ? base.steps : [migratedToBeforeTarget()];
  return points.map((point) => ({
    name: `killed-after-${point.step.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase()}`,
    story: `${base ? `${base.name}, with the` : 'The'} deploy killed (or stopped by a lock_timeout on the next statement, then retried) after ${point.last}.`,
    expect: 'converge' as const,
    steps: [...steps, interruptedDeploy(to === anchor ? target() : to, point.after, `deploy killed after ${point.last}`)],
  }));
}
