// AIN-300 in a declaration: the chain, and what PROD has that the chain does not. No domain
// rule: every state must accept and refuse the writes a database built by the chain accepts.
import { defineConfig } from 'constraint-harness';

export default defineConfig({
  migrations: '../../migrations',
  drift: [{
    name: 'prod-drift',
    story: 'PROD has the old predicate hand-applied',
    sql: `ALTER TABLE routing_outcomes ADD CONSTRAINT outcome_requires_inference_when_model_chosen
            CHECK (decision_rule <> 'cheapest_clearing_floor' OR inference_id IS NOT NULL)`,
  }],
});
