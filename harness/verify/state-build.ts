import type { Migrator } from '../migrate/index.ts';
import type { StateBuildError } from '../states/index.ts';

/**
 * Who made a state impossible to build: the revision under test (the state applies it, and a
 * step at or after that fails: a faulty target CHECK refuses the valid rows the state inserts
 * after it), or the suite's own setup before it (its SQL or rows on a database that does not
 * have the revision yet). The first is a finding about the migration (exit 1); the second a
 * problem of the suite (exit 2). Either way the state's other results are kept.
 */
export type BuildCause = 'revision-under-test' | 'suite-setup';

export function buildCause(error: StateBuildError, migrator: Migrator, anchor: string, underTest: string): BuildCause {
  const tested = migrator.chain.migrations.findIndex((m) => m.revision === underTest);
  for (const step of error.state.steps) {
    if (step.kind === 'migrate') {
      const index = migrator.chain.migrations.findIndex((m) => m.revision === migrator.chain.resolve(step.to, anchor));
      if (index >= tested) return 'revision-under-test';
    }
    if (step === error.step) break;
  }
  return 'suite-setup';
}
