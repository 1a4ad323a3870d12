import { verify } from './harness/check/verify.ts';
import { EmbeddedPostgresProvider, UrlPostgresProvider } from './harness/postgres/index.ts';
import { chainWith } from './test/helpers.ts';
import suite from './properties/routing-outcomes/suite.ts';
const server = await new EmbeddedPostgresProvider().start();
const url = server.connectionUri('postgres');
const base = "outcome_status IS NULL OR decision_rule_override IS NOT NULL OR decision_rule <> 'cheapest_clearing_floor' OR inference_id IS NOT NULL";
const faulty: Record<string, string> = {
  'attempts>0': base + ' OR attempts > 0',
  'provider mistral': base + " OR chosen_provider = 'mistral'",
  'override any': "outcome_status IS NULL OR decision_rule <> 'cheapest_clearing_floor' OR inference_id IS NOT NULL OR decision_rule_override = 'x'",
  'completed_at null': base + ' OR completed_at IS NULL',
};
for (const [name, predicate] of Object.entries(faulty)) {
  const dir = chainWith({ '0031_outcome_requires_inference.sql': `ALTER TABLE routing_outcomes DROP CONSTRAINT IF EXISTS outcome_requires_inference_when_model_chosen;\nALTER TABLE routing_outcomes ADD CONSTRAINT outcome_requires_inference_when_model_chosen CHECK (${predicate});\n` });
  let found = 0; const steps: number[] = [];
  for (let seed = 1; seed <= 10; seed++) {
    const r = await verify(suite, { provider: new UrlPostgresProvider(url), migrationsDir: dir, groups: ['writes'], states: ['fresh'], runs: 100, seed, replayCommand: () => '', log: () => undefined });
    const p = r.states[0]!.properties[0]!;
    if (!p.ok) { found++; steps.push(p.counterexample!.steps.length); }
  }
  console.log(name, 'found', found, '/10, steps', steps.join(','));
}
await server.stop();
