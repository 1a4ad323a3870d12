import { checkHistory, type HistoryVerdict } from '../../check/linearizability.ts';
import type { BoundOperation, HistoryEvent, Invariant, Mismatch, SchemaPhase, WriterAction, WriterStepMeta } from '../../check/model.ts';
import { initialModelState, type MigrationSession } from '../../check/transactional-model.ts';
import { differingColumns, type World } from '../../check/world.ts';
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
  events: readonly HistoryEvent[];
  base: World;
  writers: number;
  schema: SchemaPhase;
  migration?: MigrationSession;
  /** The rows as PostgreSQL holds them after the run (the run's keys and the starting rows). */
  actual: World;
  keys: FreshKeys;
  invariant?: Invariant;
}

/** Checks a run's history against the model: some admissible order explains every outcome and the final rows. */
export function checkRun(check: RunCheck): HistoryVerdict {
  return checkHistory({
    state: check.state,
    events: check.events,
    initial: initialModelState(check.base, check.writers, check.schema),
    migration: check.migration,
    final: (committed) => finalMismatches(committed, check.actual, check.base, check.keys, check.invariant),
  });
}

/** How the rows PostgreSQL holds differ from the model's, and which of them the domain forbids. */
export function finalMismatches(model: World, actual: World, base: World, keys: FreshKeys, invariant?: Invariant): Mismatch[] {
  const problems: string[] = [];
  const name = (table: string, key: string) => (base.get(table, key) ? `${table}[${key}]` : keys.nameOf(key));
  const seen = new Set<string>();
  for (const { table, key, row } of actual.all()) {
    seen.add(`${table}/${key}`);
    const expected = model.get(table, key);
    if (!expected) problems.push(`${name(table, key)} exists but the model has no such row: ${JSON.stringify(row)}`);
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
  return problems.length ? [{ where: 'final table', expected: 'the rows of the model, none the domain forbids', actual: problems.join('; ') }] : [];
}
