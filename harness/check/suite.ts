import type { StartingState } from '../states/index.ts';
import type { ConcurrencyScenario } from './concurrency-scenario.ts';
import type { WriteScenario } from './write-scenario.ts';

/**
 * What a suite under `properties/` hands the engine. The engine knows nothing else about the
 * tables involved; a second suite is a second folder exporting one of these.
 */
export interface Suite {
  name: string;
  /** The migration chain the suite ships (used when --migrations is not given). */
  migrationsDir: string;
  /** The revision the chain is verified up to by default. */
  target: string;
  states: StartingState[];
  /** Model-based write properties (group `writes`), run in every state that migrated. */
  writes?: WriteScenario[];
  /** Interleaved sessions (group `concurrency`), in the same states as the writes group. */
  concurrency?: ConcurrencyScenario[];
}
