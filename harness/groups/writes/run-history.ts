import { checkHistory, type HistoryVerdict } from '../../check/linearizability.ts';
import type { BoundOperation, HistoryEvent, Invariant, Mismatch, ModelContext, SchemaPhase, WriterAction, WriterStepMeta } from '../../check/model.ts';
import { initialModelState, type MigrationSession } from '../../check/transactional-model.ts';
import { differingColumns, writeId, type World } from '../../check/world.ts';
import type { Program, SessionStep } from '../../sessions/index.ts';
import type { CaseStep, RunContext, Suite } from '../../suite.ts';
import type { FreshKeys } from './run-keys.ts';

/** A writer session's steps, its operations bound to the run's keys. */
export function writerProgram<Op>(suite: Suite<Op>, steps: readonly CaseStep<Op>[], run: RunContext): Program<WriterStepMeta> {
  return { steps: steps.map((step) => writerStep(step.kind === 'op' ? { kind: 'op', op: suite.bind(step.op, run) } : step)) };
}

export function writerStep(action: WriterAction): SessionStep<WriterStepMeta> {
  if (action.kind !== 'op') return { name: action.kind, sql: action.kind.toUpperCase(), meta: { kind: 'writer', action, label: action.kind } };
  const op: BoundOperation = action.op;
  return { name: stepName(op.label), sql: op.statement.sql, parameters: op.statement.parameters, prepare: true, meta: { kind: 'writer', action, label: op.label } };
}

/** `completeDecision(d1, i2)` → `completeDecision`, for permutations. */
function stepName(label: string): string {
  return label.replace(/\(.*$/s, '').replace(/[^A-Za-z0-9_]+/g, '_') || 'op';
}

export interface RunCheck {
  state: string;
  /** The constraints the state's database had before the migration (see ModelContext). */
  constraintsBefore?: ModelContext['constraintsBefore'];
  events: readonly HistoryEvent[];
  base: World;
  writers: number;
  schema: SchemaPhase;
  migration?: MigrationSession;
  /** The rows as PostgreSQL holds them after the run (every row of the suite's tables). */
  actual: World;
  /** Every column of the starting rows and of the rows after the run (`to_jsonb`), by `writeId`: a row no statement wrote must be unchanged in every column. */
  images?: { base: ReadonlyMap<string, string>; actual: ReadonlyMap<string, string> };
  keys: FreshKeys;
  invariant?: Invariant;
}

/** Checks a run's history against the model: some admissible order explains every outcome and the final rows. */
export function checkRun(check: RunCheck): HistoryVerdict {
  return checkHistory({
    start: { state: check.state, ...(check.constraintsBefore ? { constraintsBefore: check.constraintsBefore } : {}) },
    events: check.events,
    initial: initialModelState(check.base, check.writers, check.schema),
    migration: check.migration,
    final: (committed) => finalMismatches(committed, check.actual, check.base, check.keys, check.invariant, check.images),
  });
}

/** How the rows PostgreSQL holds differ from the model's, and which of them the domain forbids. */
export function finalMismatches(model: World, actual: World, base: World, keys: FreshKeys, invariant?: Invariant, images?: RunCheck['images']): Mismatch[] {
  const problems: string[] = [];
  const name = (table: string, key: string) => (base.get(table, key) || keys.nameOf(key) === key ? `${table}[${key}]` : keys.nameOf(key));
  const seen = new Set<string>();
  for (const { table, key, row } of actual.all()) {
    seen.add(`${table}/${key}`);
    const expected = model.get(table, key);
    if (!expected) problems.push(`${name(table, key)} exists but the model has no such row${images?.actual.has(writeId({ table, key })) ? ` (a trigger's, a cascade's, or a write under a key the run never used): ${images.actual.get(writeId({ table, key }))}` : `: ${JSON.stringify(row)}`}`);
    else {
      const columns = differingColumns(expected, row!);
      if (columns.length) problems.push(`${name(table, key)}: ${columns.map((c) => `${c} is ${String(row![c])}, model says ${String(expected[c])}`).join(', ')}`);
    }
    const before = base.get(table, key);
    const changed = !before || differingColumns(before, row!).length > 0;
    const forbidden = changed ? invariant?.(table, key, row!) : undefined;
    if (forbidden) problems.push(`${forbidden}: ${name(table, key)}`);
  }
  for (const { table, key } of model.all()) if (!seen.has(`${table}/${key}`)) problems.push(`${name(table, key)} is in the model but not in the table`);
  if (images) problems.push(...untouchedRowsChanged(model, base, images));
  return problems.length ? [{ where: 'final table', expected: 'the rows of the model, none the domain forbids', actual: problems.join('; ') }] : [];
}

/**
 * Starting rows that no statement of the run wrote (the model still holds the very row the state
 * started with) must be the same in every column, not only in those the model reads: a trigger
 * or a cascade that changed one is shown, before and after.
 */
function untouchedRowsChanged(model: World, base: World, images: NonNullable<RunCheck['images']>): string[] {
  return base.all().flatMap(({ table, key, row }) => {
    const id = writeId({ table, key });
    const [before, after] = [images.base.get(id), images.actual.get(id)];
    if (model.get(table, key) !== row || before === undefined || after === undefined || before === after) return [];
    return [`${table}[${key}] changed, though no statement of the run wrote it: before ${before}, after ${after}`];
  });
}
