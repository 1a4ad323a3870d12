import type { ExpectedOutcome } from '../../harness/sessions/step-outcome.ts';
import { CONSTRAINT_NAME, MODEL_OF, isOrphan, type DecisionRule, type OutcomeFacts, type OutcomeStatus, type Provider } from './domain.ts';

/** A decision as the domain sees it. */
export interface ModelDecision {
  rule: DecisionRule;
  provider: Provider;
  model: string;
  inferenceId: string | null;
  status: OutcomeStatus | null;
  override: string | null;
  attempts: number;
  completed: boolean;
}

/** A change to one decision, or a new inference, as a write would make it. */
export type Change =
  | { kind: 'insert-decision'; id: string; decision: ModelDecision }
  | { kind: 'insert-inference'; id: string }
  | { kind: 'update-mid-flight'; id: string; set: Partial<ModelDecision>; attemptsPlusOne?: boolean }
  | { kind: 'update'; id: string; set: Partial<ModelDecision> };

const ORPHAN_REJECTED: ExpectedOutcome = { kind: 'error', sqlstate: '23514', constraint: CONSTRAINT_NAME };

/**
 * The oracle: decisions and inferences in memory, and the rule of SPEC §5. It predicts each
 * write from what the domain says must happen (not from any SQL): a write whose result would
 * be an orphan is rejected and changes nothing; a guarded update of a decision that is not
 * mid-flight touches no row; a link to an inference that does not exist is refused (23503);
 * anything else commits.
 */
export class RoutingModel {
  decisions = new Map<string, ModelDecision>();
  inferences = new Set<string>();

  /** `violates`: the rule in force; by default the AIN-300 rule (an orphan is refused). */
  constructor(readonly violates: (decision: OutcomeFacts) => boolean = isOrphan) {}

  predict(change: Change): ExpectedOutcome {
    switch (change.kind) {
      case 'insert-inference':
        if (this.inferences.has(change.id)) return { kind: 'error', sqlstate: '23505' };
        this.inferences.add(change.id);
        return { kind: 'commit' };
      case 'insert-decision':
        if (this.violates(change.decision)) return ORPHAN_REJECTED;
        if (this.decisions.has(change.id)) return { kind: 'error', sqlstate: '23505' };
        this.decisions.set(change.id, change.decision);
        return { kind: 'commit' };
      case 'update-mid-flight':
      case 'update': {
        const current = this.decisions.get(change.id);
        if (!current || (change.kind === 'update-mid-flight' && current.status !== null)) return { kind: 'no-rows' };
        const next: ModelDecision = { ...current, ...change.set };
        if (change.kind === 'update-mid-flight' && change.attemptsPlusOne) next.attempts = current.attempts + 1;
        if (this.violates(next)) return ORPHAN_REJECTED;
        if (next.inferenceId !== null && next.inferenceId !== current.inferenceId && !this.inferences.has(next.inferenceId)) {
          return { kind: 'error', sqlstate: '23503' };
        }
        this.decisions.set(change.id, next);
        return { kind: 'commit' };
      }
    }
  }
}

export function newDecision(rule: DecisionRule, provider: Provider, final?: OutcomeStatus): ModelDecision {
  return { rule, provider, model: MODEL_OF[provider], inferenceId: null, status: final ?? null, override: null, attempts: 0, completed: final !== undefined };
}
