import { target, interruptionPoints, planProgram, type InterruptionPoint, type Migrator, type RevisionRef } from '../migrate/index.ts';
import { interruptedDeploy, migratedToBeforeTarget, plainStatesAtPrevious, type StartingState, type StateStep } from './starting-state.ts';

/**
 * The state a deploy killed at `point` leaves, built on `steps`: the chain must converge when
 * it runs again, unless the tool's mark of a revision in progress stays behind (golang-migrate's
 * dirty flag): then its next deploy refuses, and nothing may change.
 */
export function killedState(point: InterruptionPoint, steps: readonly StateStep[], to: RevisionRef, tool: string, base?: string): StartingState {
  return {
    name: `killed-after-${point.step.replace(/[^A-Za-z0-9]+/g, '-').toLowerCase()}`,
    story: `${base ? `${base}, with the` : 'The'} deploy killed (or stopped by a lock_timeout on the next statement, then retried) after ${point.last}.${point.marked ? ` ${tool} left its mark of the revision in progress (the database a failed run of it leaves too): its next deploy refuses until someone clears it.` : ''}`,
    expect: point.marked ? 'refuse' : 'converge',
    steps: [...steps, interruptedDeploy(to, point.after, `deploy killed after ${point.last}`)],
  };
}

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
  return points.map((point) => killedState(point, steps, to === anchor ? target() : to, chain.spec.tool, base?.name));
}
