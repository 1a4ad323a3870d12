import type pg from 'pg';
import type { ConcurrencyProblem, ConcurrencyScenario, ConcurrentRun, ConcurrentSetup } from '../../harness/check/concurrency-scenario.ts';
import { formatActual, formatExpected, matches, type ExpectedOutcome } from '../../harness/sessions/step-outcome.ts';
import type { SessionStep, StepEvent } from '../../harness/sessions/index.ts';
import { allowedByOldPredicate, isOrphan } from './domain.ts';
import { SHARED_DECISION, concurrentCase, flowOperations, MAX_SESSIONS, type Flow } from './flows.ts';
import type { Change } from './model.ts';
import { TransactionalModel } from './transactional-model.ts';
import { compareWithModel, RunKeys, translate } from './writes.ts';

type Action = { kind: 'begin' } | { kind: 'commit' } | { kind: 'op'; label: string; change: Change };

/** States where the migration is deployed live: PROD with the old predicate in force. */
const DEPLOY_STATES = ['prod-drift', 'prod-drift-inflight'];

class ConcurrentRoutingRun implements ConcurrentRun {
  readonly setup: SessionStep[] = [];
  readonly programs: SessionStep[][] = [];
  private readonly actions: Action[][] = [];
  private readonly keys = new RunKeys();
  private readonly sharedChange: Change | undefined;

  constructor(
    private readonly options: ConcurrentSetup,
    flows: readonly Flow[],
  ) {
    if (flows.some((f) => f.kind === 'race-complete')) {
      const { statement, change } = translate({ kind: 'insertDecision', d: SHARED_DECISION, rule: 'explicit_model', provider: 'mistral', label: 'insertDecision(d0)' }, this.keys);
      this.setup.push({ name: 'setup', sql: statement.sql, parameters: statement.parameters });
      this.sharedChange = change;
    }
    flows.forEach((flow, session) => {
      const steps: SessionStep[] = [];
      const actions: Action[] = [];
      if (flow.transaction) {
        steps.push({ name: 'begin', sql: 'BEGIN' });
        actions.push({ kind: 'begin' });
      }
      for (const operation of flowOperations(flow, session)) {
        const { statement, change } = translate(operation, this.keys);
        steps.push({ name: operation.kind, sql: statement.sql, parameters: statement.parameters });
        actions.push({ kind: 'op', label: operation.label, change });
      }
      if (flow.transaction) {
        steps.push({ name: 'commit', sql: 'COMMIT' });
        actions.push({ kind: 'commit' });
      }
      this.programs.push(steps);
      this.actions.push(actions);
    });
  }

  async check(events: readonly StepEvent[], client: pg.ClientBase): Promise<ConcurrencyProblem[]> {
    const deploying = this.options.deploySession !== undefined;
    const model = new TransactionalModel(deploying ? (d) => !allowedByOldPredicate(d) : isOrphan);
    if (this.sharedChange) model.predict(-1, this.sharedChange);
    const problems: ConcurrencyProblem[] = [];
    for (const event of events) {
      if (event.session === this.options.deploySession) {
        if (event.step.name.endsWith('-commit') && event.outcome.kind === 'ok') model.switchRule(isOrphan);
        continue;
      }
      const action = this.actions[event.session]![event.index]!;
      const where = `s${event.session + 1} ${action.kind === 'op' ? action.label : action.kind}`;
      if (event.timedOut) return [{ where, expected: 'to finish', actual: `cancelled after ${Math.round(event.ms)} ms (hung)` }];
      if (event.outcome.kind === 'error' && event.outcome.sqlstate === '40P01') {
        model.deadlocked(event.session);
        continue;
      }
      const expected: ExpectedOutcome = action.kind === 'begin' ? model.begin(event.session) : action.kind === 'commit' ? model.commit(event.session) : model.predict(event.session, action.change);
      if (!matches(expected, event.outcome)) return [{ where, expected: formatExpected(expected), actual: formatActual(event.outcome) }];
    }
    const winners = events.filter((e) => this.isSharedCompletion(e) && e.outcome.kind === 'ok' && e.outcome.rows > 0);
    if (winners.length > 1) problems.push({ where: 'race on d0', expected: 'exactly one completion wins', actual: `${winners.length} completions won` });
    for (const problem of await compareWithModel(client, model.committed, this.keys)) problems.push({ where: 'final table', expected: 'the model, with no orphan', actual: problem });
    return problems;
  }

  private isSharedCompletion(event: StepEvent): boolean {
    const action = this.actions[event.session]?.[event.index];
    return action?.kind === 'op' && action.change.kind === 'update-mid-flight' && action.label.startsWith('completeDecision(d0,');
  }
}

export const concurrencyScenario: ConcurrencyScenario = {
  name: 'concurrent-flows-agree-with-model',
  cases: concurrentCase,
  maxSessions: MAX_SESSIONS,
  deployStates: DEPLOY_STATES,
  begin: (setup, flows) => new ConcurrentRoutingRun(setup, flows as readonly Flow[]),
};
