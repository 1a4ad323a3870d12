import { timed } from '../../run/phase-timer.ts';
import type { HistoryVerdict } from '../../check/linearizability.ts';
import type { HistoryEvent } from '../../check/model.ts';
import type { GroupContext } from '../../run/group-context.ts';
import type { Execution, PropertySpec } from '../../run/property-runner.ts';
import type { Counterexample } from '../../run/property-result.ts';
import { formatActual, stepSql, type Program } from '../../sessions/index.ts';
import { checkAgainstReference } from '../../check/state-differential.ts';
import type { Invariant, WriterStepMeta } from '../../check/model.ts';
import type { World } from '../../check/world.ts';
import { openedReference, ReferenceDatabase } from './reference-target.ts';
import type { WritesProperty } from '../../suite.ts';
import { checkRun, writerProgram } from './run-history.ts';
import { FreshKeys } from './run-keys.ts';
import { WriteTarget } from './write-target.ts';
import type { StartingState, StateHistory } from '../../states/index.ts';

export interface WritesExecution extends Execution {
  events: HistoryEvent[];
  verdict: HistoryVerdict;
}

/**
 * The writes group: random operation sequences of one session, each statement in autocommit
 * as the gateway sends it, on fresh keys and on the rows the state started with; the history
 * is checked against the model, statement by statement and for the final rows.
 */
export function writesSpec<Op>(context: GroupContext<Op>, property: WritesProperty<Op>, target: WriteTarget, reference?: ReferenceDatabase<Op>): PropertySpec<readonly Op[], WritesExecution> {
  const { suite } = context;
  return {
    group: 'writes',
    properties: [property.name],
    label: property.name,
    cases: property.operations,
    async execute(operations) {
      return execute(operations, true);
    },
    describe: (_operations, run, problem) => describeWrites(run, problem, reference !== undefined),
    size: (run) => failureDepth(run),
  };

  async function execute(operations: readonly Op[], retry: boolean): Promise<WritesExecution> {
    const started = performance.now();
    // a database built again holds its starting rows anew (a default such as now() differs): the reference must hold the same
    if (reference) await target.rebuildIfDirty();
    const base = target.base;
    const keys = new FreshKeys(target.base.keyTypes);
    const program = writerProgram(suite, operations.map((op) => ({ kind: 'op' as const, op })), { keys, base: target.base.world });
    // the reference (another database) runs the same program at the same time
    const onReference = reference ? onTheReference(reference, program) : undefined;
    onReference?.catch(() => undefined);
    const run = await timed("the run's statements, the rows put back and read back (one round trip)", () => target.runWrites(program)).catch(async (error) => {
      await onReference?.catch(() => undefined);
      throw error;
    });
    if (reference && target.base !== base && retry) {
      // the state was built again during the run (the last run's rows could not be put back): the reference ran on rows it no longer has
      await onReference?.catch(() => undefined);
      return execute(operations, false);
    }
    const events: HistoryEvent[] = run.events;
    const actual = run.actual;
    const verdict = onReference
      ? sameAsReference(await timed('the same statements on the reference', () => onReference), events, actual.world, target.base.world, suite.invariant, performance.now() - started)
      : await timed("the model's check", async () => checkRun({ state: target.state.name, constraintsBefore: target.constraintsBefore, events, base: target.base.world, writers: 1, schema: 'after', actual: actual.world, images: { base: target.base.images, actual: actual.images }, keys, invariant: suite.invariant }));
    const first = verdict.mismatches[0];
    const problems = verdict.ok || !first ? [] : [{ property: property.name, expected: first.expected, actual: first.actual, details: verdict.mismatches.slice(1).map((m) => `${m.where}: expected ${m.expected}, actual ${m.actual}`), ...(first.error ? { error: first.error } : {}) }];
    return { problems, events, verdict };
  }
}

/**
 * The same program on the state's reference: what it did there is what the migrated state must
 * do. A reference that refuses the state's rows is the verdict of every run.
 */
function sameAsReference(onReference: ReferenceRun, events: HistoryEvent[], actual: World, base: World, invariant: Invariant | undefined, clockSlackMs: number): HistoryVerdict {
  if ('refused' in onReference) return onReference.refused;
  return checkAgainstReference({ events, reference: onReference.events, actual, expected: onReference.world, base, clockSlackMs, ...(invariant ? { invariant } : {}) });
}

type ReferenceRun = { refused: HistoryVerdict } | { events: HistoryEvent[]; world: World };

/** The program on the state's reference, and the rows it left there. */
async function onTheReference<Op>(reference: ReferenceDatabase<Op>, program: Program<WriterStepMeta>): Promise<ReferenceRun> {
  const target = await openedReference(reference, true);
  if ('refused' in target) return target;
  const run = await target.opened.runWrites(program);
  return { events: run.events, world: run.actual.world };
}

/** Steps up to the one the model did not predict; every step when only the final rows are wrong. */
function failureDepth(run: WritesExecution): number {
  const first = run.verdict.mismatches[0];
  const atStep = first && first.where !== 'final table';
  const steps = atStep ? run.verdict.order.length + 1 : run.events.length;
  // among cases as short, one where a database accepted what the other refused says more than
  // one where both refused, naming different constraints: the runner's lookahead prefers it
  const bothRefused = atStep && first.expected.includes('as on the reference: ') && !first.expected.endsWith('row)') && !first.expected.endsWith('rows') && !/^(commit|0 rows)/.test(first.actual);
  return steps + (bothRefused ? 0.5 : 0);
}

function describeWrites(run: WritesExecution, problem: { expected: string; actual: string; details?: string[] }, differential: boolean): Counterexample {
  const judged = differential ? 'as on the reference' : 'as the model predicted';
  const mismatch = run.verdict.mismatches[0]!;
  const atStep = mismatch.where !== 'final table' && mismatch.where !== 'the checker' && mismatch.where !== 'the reference';
  const explained = run.verdict.order.length;
  // a statement that behaved otherwise ends the story: what the run sent after it is not needed to show it
  const shown = atStep ? run.events.slice(0, explained + 1) : run.events;
  const cut = run.events.length - shown.length;
  return {
    steps: shown.map((event) => event.step.meta!.kind === 'writer' ? event.step.meta!.label : event.step.name),
    expected: atStep ? mismatch.expected : mismatch.where === 'final table' ? (differential ? 'the final table to equal the reference\'s, with no row the domain rule (if declared) forbids' : 'the final table to equal the model, with no row the domain forbids') : mismatch.expected,
    actual: problem.actual,
    sql: shown.map((event, index) => {
      const note = index < explained ? `${judged}: ${formatActual(event.outcome)}` : index === explained && atStep ? `expected ${mismatch.expected}, actual ${formatActual(event.outcome)}` : `actual ${formatActual(event.outcome)}`;
      return `${stepSql(event.step)}  -- ${note}`;
    }),
    details: [...(problem.details ?? []), ...(cut > 0 ? [`the run's ${cut} later statement(s) are left out: the last one above already behaved otherwise`] : [])],
  };
}

/** The writes property of a state, on its own migrated copy; `close` drops it. */
export async function openWrites<Op>(context: GroupContext<Op>, property: WritesProperty<Op>, state: StartingState, history: StateHistory): Promise<{ target: WriteTarget; spec: PropertySpec<readonly Op[], WritesExecution>; close(): Promise<void> }> {
  const target = await WriteTarget.open(context, state, history, { migrate: true, label: `writes_${state.name}` });
  const reference = context.suite.oracle === 'state-differential' ? new ReferenceDatabase(context, target) : undefined;
  return { target, spec: writesSpec(context, property, target, reference), close: async () => { await reference?.close(); await target.close(); } };
}
