import type { Suite } from '../suite.ts';
import type { Progress } from './progress.ts';
import type { RunConfig } from './run-config.ts';
import type { Workbench } from './workbench.ts';

/** What every group runs with: the suite, the prepared server and states, the run's configuration. */
export interface GroupContext<Op> {
  suite: Suite<Op>;
  bench: Workbench;
  config: RunConfig;
  progress?: Progress;
  log: (line: string) => void;
}
