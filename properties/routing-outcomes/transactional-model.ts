import type { ExpectedOutcome } from '../../harness/sessions/step-outcome.ts';
import type { OutcomeFacts } from './domain.ts';
import { RoutingModel, type Change, type ModelDecision } from './model.ts';

/** What a session has done in its open transaction, not yet visible to others. */
class OpenTransaction {
  active = false;
  aborted = false;
  decisions = new Map<string, ModelDecision>();
  inferences = new Set<string>();
}

/**
 * The oracle for several sessions under READ COMMITTED, replayed in the observed completion
 * order: a statement sees what is committed plus its own transaction's changes; a
 * transaction's changes become visible at COMMIT; an error inside a transaction aborts it
 * (later statements fail with 25P02, COMMIT rolls back).
 */
export class TransactionalModel {
  readonly committed: RoutingModel;
  private readonly open = new Map<number, OpenTransaction>();

  constructor(private violates: (decision: OutcomeFacts) => boolean) {
    this.committed = new RoutingModel(violates);
  }

  /** The live deploy switches the rule when the migration commits. */
  switchRule(violates: (decision: OutcomeFacts) => boolean): void {
    this.violates = violates;
  }

  begin(session: number): ExpectedOutcome {
    const transaction = this.transaction(session);
    transaction.active = true;
    return { kind: 'ok' };
  }

  commit(session: number): ExpectedOutcome {
    const transaction = this.transaction(session);
    if (transaction.active && !transaction.aborted) {
      for (const [id, decision] of transaction.decisions) this.committed.decisions.set(id, decision);
      for (const id of transaction.inferences) this.committed.inferences.add(id);
    }
    this.open.set(session, new OpenTransaction());
    return { kind: 'ok' };
  }

  /** The server chose this session as a deadlock victim: its transaction is gone. */
  deadlocked(session: number): void {
    const transaction = this.transaction(session);
    if (transaction.active) transaction.aborted = true;
  }

  predict(session: number, change: Change): ExpectedOutcome {
    const transaction = this.transaction(session);
    if (transaction.active && transaction.aborted) return { kind: 'error', sqlstate: '25P02' };
    const view = new RoutingModel(this.violates);
    view.decisions = new Map([...this.committed.decisions, ...transaction.decisions]);
    view.inferences = new Set([...this.committed.inferences, ...transaction.inferences]);
    const expected = view.predict(change);
    if (expected.kind === 'commit') {
      const target = transaction.active ? transaction : this.committed;
      if (change.kind === 'insert-inference') target.inferences.add(change.id);
      else target.decisions.set(change.id, view.decisions.get(change.id)!);
    } else if (expected.kind === 'error' && transaction.active) {
      transaction.aborted = true;
    }
    return expected;
  }

  private transaction(session: number): OpenTransaction {
    let transaction = this.open.get(session);
    if (!transaction) this.open.set(session, (transaction = new OpenTransaction()));
    return transaction;
  }
}
