import { fileURLToPath } from 'node:url';
import type { Suite } from '../../harness/check/suite.ts';
import { concurrencyScenario } from './concurrency.ts';
import { STATES } from './states.ts';
import { writeScenarios } from './writes.ts';

/** AIN-300: routing_outcomes must link a final router-chosen outcome to its inference. */
export const routingOutcomesSuite: Suite = {
  name: 'routing-outcomes',
  migrationsDir: fileURLToPath(new URL('../../migrations', import.meta.url)),
  target: '0031',
  states: STATES,
  writes: writeScenarios,
  concurrency: [concurrencyScenario],
};

export default routingOutcomesSuite;
