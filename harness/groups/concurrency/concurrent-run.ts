import { timed } from '../../run/phase-timer.ts';
import type { HistoryVerdict } from '../../check/linearizability.ts';
import type { HistoryEvent, Invariant, Mismatch, WriterStepMeta } from '../../check/model.ts';
import { planProgram, type MigrationPlan, type MigrationStepMeta } from '../../migrate/index.ts';
import type { Execution } from '../../run/property-runner.ts';
import type { Counterexample } from '../../run/property-result.ts';
import { bySendOrder, formatActual, runSequentially, stepSql, type InterleavingExecutor, type Program } from '../../sessions/index.ts';
import type { ConcurrentCase, Suite } from '../../suite.ts';
import { checkRun, writerProgram } from '../writes/run-history.ts';
import { openedReference, type ReferenceDatabase } from '../writes/reference-target.ts';
import { checkAgainstReference } from '../../check/state-differential.ts';
import { judgeLiveDeploy, type LiveReplay } from './live-differential.ts';
import type { World } from '../../check/world.ts';
import { FreshKeys } from '../writes/run-keys.ts';
import type { WriteTarget } from '../writes/write-target.ts';

/** One concurrent run as it happened: the flows, the history, and the checker's verdict. */
export interface ConcurrentExecution extends Execution {
  labels: readonly string[];
  programs: Program<WriterStepMeta | MigrationStepMeta>[];
  setup: HistoryEvent[];
  events: HistoryEvent[];
  /** The session that deployed the migration, in a live deploy. */
  deploySession?: number;
  verdict: HistoryVerdict;
  /** Why the state differential could not judge this run of a live deploy. */
  unjudged?: string;
}

export interface ConcurrentRunOptions<Op> {
  suite: Suite<Op>;
  property: string;
  target: WriteTarget;
  executor: InterleavingExecutor;
  /** The migration, deployed by one more session (a live deploy). */
  deploy?: MigrationPlan;
  /** The state's reference, when the suite's oracle is the state differential (not with a deploy). */
  reference?: { database: ReferenceDatabase<Op>; sessions: number };
  /** With a deploy, when the suite's oracle is the state differential: the run is judged by a serial replay on these databases (see judgeLiveDeploy). */
  live?: LiveReplay<Op>;
}

/**
 * Runs a case: its setup on the control connection, then one program per writer session (and
 * the migration's, in a live deploy) on the interleaving executor, following the schedule;
 * then reads the rows back and asks the checker whether some order consistent with real
 * time explains what PostgreSQL did.
 */
export async function runConcurrentCase<Op>(options: ConcurrentRunOptions<Op>, testCase: ConcurrentCase<Op>): Promise<ConcurrentExecution> {
  const { suite, target, deploy } = options;
  const started = performance.now();
  const keys = new FreshKeys(target.base.keyTypes);
  const run = { keys, base: target.base.world };
  const setupProgram = writerProgram(suite, testCase.setup.map((op) => ({ kind: 'op' as const, op })), run);
  const control = options.executor.control;
  const setup: HistoryEvent[] = (await timed("the case's setup rows", () => runSequentially(control, setupProgram, { session: -1 }))).map((event) => ({ ...event, step: { ...event.step, meta: { ...(event.step.meta as WriterStepMeta), who: 'setup' } } }));
  const programs: Program<WriterStepMeta | MigrationStepMeta>[] = testCase.sessions.map((steps) => writerProgram(suite, steps, run));
  const deploySession = deploy ? programs.length : undefined;
  if (deploy) programs.push(planProgram(deploy, 'deploy'));
  const events: HistoryEvent[] = await timed(deploy ? 'the writers and the deploy, step by step on the schedule' : 'the writers, step by step on the schedule', () => options.executor.run(programs, testCase.schedule));
  const actual = await timed('rows read back', () => target.finish(control, !deploy));
  const migration = deploySession === undefined ? undefined : { session: deploySession, statementSteps: statementSteps(programs[deploySession]!) };
  const { live, verdict } = await timed('judged (model or reference)', async () => {
    const live = deploy && options.live ? await judgeLiveDeploy(options.live, target, { setupProgram, setup, events, programs, deploySession: deploySession!, actual: actual.world, started }) : undefined;
    const verdict = live ? ('verdict' in live ? live.verdict : { ok: true, explored: 0, order: [], mismatches: [], inconclusive: false }) : options.reference && !deploy ? await sameAsReference(options.reference, setupProgram, programs, testCase.schedule, [...setup, ...events], actual.world, target.base.world, suite.invariant, started) : checkRun({ state: target.state.name, constraintsBefore: target.constraintsBefore, events: [...setup, ...events], base: target.base.world, writers: testCase.sessions.length, schema: deploy ? 'before' : 'after', migration, actual: actual.world, keys, invariant: suite.invariant,
    // a deploy may rewrite the rows it migrates (a backfill): only where no migration ran is every column of an untouched row compared
    ...(deploy ? {} : { images: { base: target.base.images, actual: actual.images } }) });
    return { live, verdict };
  });
  // under the state differential nothing says the writers' rows were valid: a deploy that failed
  // on rows they committed (a class 23 error) is what a violating state shows, not judged here
  const deployErrors = deployProblems(events, deploySession).filter((m) => !(options.live && m.error && (m.error.sqlstate.startsWith('23') || ABORTED_BY_WRITERS.has(m.error.sqlstate))));
  const mismatches: Mismatch[] = [...verdict.mismatches, ...deployErrors];
  const problems = mismatches.map((m) => ({ property: options.property, expected: `${m.where}: ${m.expected}`, actual: m.actual, ...(m.error ? { error: m.error } : {}) }));
  return { problems, labels: testCase.labels, programs, setup, events, deploySession, verdict, ...(live && 'unjudged' in live ? { unjudged: live.unjudged } : {}) };
}

/** The same case, setup and schedule on the state's reference: what it did there is what the migrated state must do. */
async function sameAsReference<Op>(reference: NonNullable<ConcurrentRunOptions<Op>['reference']>, setupProgram: Program<WriterStepMeta>, programs: Program<WriterStepMeta | MigrationStepMeta>[], schedule: readonly number[], events: HistoryEvent[], actual: World, base: World, invariant: Invariant | undefined, started: number): Promise<HistoryVerdict> {
  const target = await openedReference(reference.database);
  if ('refused' in target) return target.refused;
  const executor = await target.opened.executor(reference.sessions);
  const setup = await runSequentially(executor.control, setupProgram, { session: -1 });
  const run = await executor.run(programs, schedule);
  const expected = await target.opened.finish(executor.control);
  return checkAgainstReference({ events, reference: [...setup, ...run] as HistoryEvent[], actual, expected: expected.world, base, clockSlackMs: performance.now() - started, ...(invariant ? { invariant } : {}) });
}

/** A deploy the writers' own transactions deadlocked or held past a timeout (derived writes are not the application's: not judged). */
const ABORTED_BY_WRITERS = new Set(['40P01', '55P03', '57014']);

/** The program indices of the migration's own statements (what makes its schema take effect). */
function statementSteps(program: Program<WriterStepMeta | MigrationStepMeta>): number[] {
  return program.steps.flatMap((step, index) => (step.meta?.kind === 'migration' && step.meta.role === 'statement' ? [index] : []));
}

/** A live deploy must apply: a migration step that failed is a problem of its own. */
function deployProblems(events: readonly HistoryEvent[], deploySession: number | undefined): Mismatch[] {
  if (deploySession === undefined) return [];
  return events.flatMap((e) => (e.session === deploySession && e.outcome.kind === 'error' ? [{ where: `m ${e.step.name}`, expected: 'the migration to apply', actual: `${formatActual(e.outcome)} ${e.outcome.message}`, error: e.outcome }] : []));
}

export function sessionName(session: number, deploySession: number | undefined): string {
  return session === deploySession ? 'm' : session < 0 ? 'setup' : `s${session + 1}`;
}

/** The steps in the order they were sent, isolation-tester style: `s1-insert s2-insert* s1-commit`. */
export function permutation(run: Pick<ConcurrentExecution, 'events' | 'deploySession'>): string {
  return bySendOrder(run.events).map((e) => `${sessionName(e.session, run.deploySession)}-${e.step.name}${e.blocked ? '*' : ''}`).join(' ');
}

export function describeConcurrent(run: ConcurrentExecution, problem: { expected: string; actual: string }): Counterexample {
  const others = run.problems.filter((p) => p.expected !== problem.expected || p.actual !== problem.actual);
  return {
    steps: [
      ...run.setup.map((e) => `setup: ${e.step.meta?.kind === 'writer' ? e.step.meta.label : e.step.name}`),
      ...run.labels.map((label, i) => `s${i + 1}: ${label}`),
      ...(run.deploySession !== undefined ? ['m: deploy the migration'] : []),
      `permutation: ${permutation(run)}`,
    ],
    expected: problem.expected,
    actual: problem.actual,
    details: others.map((p) => `${p.expected}, actual ${p.actual}`),
    sql: [...run.setup, ...bySendOrder(run.events)].map((e) => `-- ${sessionName(e.session, run.deploySession)}${e.blocked ? ' (blocked, completed later)' : ''}: ${formatActual(e.outcome)}\n${stepSql(e.step)}`),
  };
}
