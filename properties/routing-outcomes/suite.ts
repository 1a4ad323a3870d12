import { besideSource, defineSuite } from '../../harness/suite.ts';
import { bindOperation } from './bind.ts';
import { isOrphan, type DecisionRule, type OutcomeStatus } from './domain.ts';
import { concurrentCase, MAX_SESSIONS } from './flows.ts';
import { INFERENCES, OUTCOMES } from './model.ts';
import type { RoutingOperation } from './operations.ts';
import { STATES } from './states.ts';
import { operationSequence } from './writes.ts';

/** AIN-300: routing_outcomes must link a final router-chosen outcome to its inference. */
export default defineSuite<RoutingOperation>({
  name: 'routing-outcomes',
  migrationsDir: besideSource(import.meta.url, '../../migrations'),
  target: '0031',
  states: STATES,
  tables: [
    {
      name: OUTCOMES,
      key: 'id',
      columns: {
        rule: 'decision_rule', provider: 'chosen_provider', model: 'chosen_model', inference: 'inference_id::text', status: 'outcome_status',
        override: 'decision_rule_override', attempts: 'attempts', completed: 'completed_at IS NOT NULL',
      },
    },
    { name: INFERENCES, key: 'id', columns: { provider: 'provider', status: 'status' } },
  ],
  bind: bindOperation,
  invariant: (table, _key, row) => {
    if (table !== OUTCOMES) return undefined;
    const facts = { rule: row.rule as DecisionRule, status: row.status as OutcomeStatus | null, override: row.override as string | null, inferenceId: row.inference as string | null };
    return isOrphan(facts) ? 'orphan committed' : undefined;
  },
  writes: { name: 'write-path-agrees-with-model', operations: operationSequence },
  concurrency: { name: 'concurrent-flows-agree-with-model', cases: concurrentCase, maxSessions: MAX_SESSIONS, deployStates: ['prod-drift', 'prod-drift-inflight'] },
});
