import { generatedRows, migratedToBeforeTarget, migratedToTarget, runSql, stampedAt, target, type StartingState } from '../../harness/suite.ts';
import { NEW_PREDICATE_SQL, OLD_PREDICATE_SQL } from './domain.ts';
import { validUnderOldPredicate, validUnderOldWithInFlight, withOrphans, withoutOrphans } from './history.ts';
import { historyAtScale } from './history-at-scale.ts';

/**
 * Every state a real gateway database can be in when 0031 is deployed (SPEC §4). Revisions are
 * named relative to the one under test ("the revision before the target", "the target"), so the
 * states hold for the chain as its tool names it (0030/0031, dbmate timestamps, Alembic ids).
 */
export const STATES: StartingState[] = [
  {
    name: 'fresh',
    story: 'A brand-new database: the whole chain runs from nothing.',
    expect: 'converge',
    steps: [],
  },
  {
    name: 'prod-drift',
    story: 'PROD at 0030 with the old predicate hand-applied under the same name; history valid under it.',
    expect: 'converge',
    steps: [migratedToBeforeTarget(), runSql('old predicate hand-applied', OLD_PREDICATE_SQL), generatedRows('history valid under the old predicate', validUnderOldPredicate, historyAtScale('valid-under-old'))],
  },
  {
    name: 'prod-drift-inflight',
    story: 'prod-drift while the gateway is busy: mid-flight decisions (status NULL) the old predicate allows.',
    expect: 'converge',
    steps: [migratedToBeforeTarget(), runSql('old predicate hand-applied', OLD_PREDICATE_SQL), generatedRows('history with mid-flight rows', validUnderOldWithInFlight, historyAtScale('valid-under-old-in-flight'))],
  },
  {
    name: 'staging',
    story: 'Staging at 0030 without any constraint; its history has no orphans.',
    expect: 'converge',
    steps: [migratedToBeforeTarget(), generatedRows('history without orphans', withoutOrphans, historyAtScale('without-orphans'))],
  },
  {
    name: 'already-migrated',
    story: 'A database where 0031 already ran and is recorded: deploying again must change nothing.',
    expect: 'noop',
    steps: [migratedToTarget(), generatedRows('history without orphans', withoutOrphans, historyAtScale('without-orphans'))],
  },
  {
    name: 'schema-ahead',
    story: "A restored backup: 0031's constraint is present but the version table stops at 0030.",
    expect: 'converge',
    steps: [migratedToBeforeTarget(), runSql("0031's constraint restored from a backup", NEW_PREDICATE_SQL), generatedRows('history without orphans', withoutOrphans, historyAtScale('without-orphans'))],
  },
  {
    name: 'unrepaired-orphans',
    story: 'PROD before the data repair: at 0030, no constraint, and orphaned outcomes in the data.',
    expect: 'fail-atomically',
    steps: [migratedToBeforeTarget(), generatedRows('history with orphans', withOrphans, historyAtScale('with-orphans'))],
  },
  {
    name: 'prod-drift-not-valid',
    story: 'The old predicate added NOT VALID while orphans were still in the data (before the repair finished).',
    expect: 'fail-atomically',
    steps: [migratedToBeforeTarget(), generatedRows('history with orphans', withOrphans, historyAtScale('with-orphans')), runSql('old predicate hand-applied NOT VALID', `${OLD_PREDICATE_SQL} NOT VALID`)],
  },
  {
    name: 'stamped-not-run',
    story: 'The version table says 0031 but the catalog still has the old predicate (stamped, never run).',
    expect: 'drift',
    steps: [migratedToBeforeTarget(), runSql('old predicate hand-applied', OLD_PREDICATE_SQL), generatedRows('history valid under the old predicate', validUnderOldPredicate, historyAtScale('valid-under-old')), stampedAt(target())],
  },
];
