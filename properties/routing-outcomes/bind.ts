import type { BoundOperation, ModelContext, RunContext, Statement } from '../../harness/suite.ts';
import { CONSTRAINT_NAME, RULE_BEFORE, type RuleInForce } from './domain.ts';
import { historyIndexOf } from './history.ts';
import { OUTCOMES, predict } from './model.ts';
import { label, type DecisionRef, type Key, type ResolvedOperation, type RoutingOperation } from './operations.ts';
import * as writePath from './write-path.ts';

/** An operation with this run's keys: the statement the gateway sends, and what the domain says it does. */
export function bindOperation(op: RoutingOperation, run: RunContext): BoundOperation {
  const resolved = resolve(op, run);
  return {
    label: label(resolved),
    statement: statementOf(resolved, run),
    predict: (view, context) => {
      const predictions = rulesInForce(context).map((rule) => predict(resolved, view, rule));
      return predictions.filter((p, i) => predictions.findIndex((q) => JSON.stringify(q) === JSON.stringify(p)) === i);
    },
  };
}

/**
 * The rule in force when a statement runs: the target's (orphans refused) once the migration
 * is in, the starting state's before it, and while a migration has committed only part of its
 * work, any of them (including none, between a DROP and an ADD that commit separately).
 */
/**
 * What a state the suite did not write enforces (a snapshot of staging or PROD), read from its
 * catalog: no constraint of 0031's name, 0031's predicate (it lets a mid-flight outcome be), or
 * the old one (NOT VALID or not: either checks every new write).
 */
function ruleOfCatalog(context: ModelContext): RuleInForce {
  const constraint = context.constraintsBefore?.find((c) => c.name === CONSTRAINT_NAME && /(^|\.)routing_outcomes$/.test(c.table));
  if (!constraint) return 'none';
  return /outcome_status IS NULL/.test(constraint.definition) ? 'orphans-refused' : 'old-predicate';
}

function rulesInForce(context: ModelContext): RuleInForce[] {
  if (context.schema === 'after') return ['orphans-refused'];
  const before = RULE_BEFORE[context.state] ?? ruleOfCatalog(context);
  return context.schema === 'before' ? [before] : [before, 'orphans-refused', 'none'];
}

function resolve(op: RoutingOperation, run: RunContext): ResolvedOperation {
  const withD = 'd' in op ? { d: decision(op.d, run) } : {};
  const withI = 'i' in op ? { i: { key: run.keys.fresh(`i${op.i}`), name: `i${op.i}` } } : {};
  return { ...op, ...withD, ...withI } as ResolvedOperation;
}

/** A fresh decision, or the n-th mid-flight (or final) decision the state started with. */
function decision(ref: DecisionRef, run: RunContext): Key {
  if ('fresh' in ref) return { key: run.keys.fresh(`d${ref.fresh}`), name: `d${ref.fresh}` };
  const candidates = run.base.rows(OUTCOMES).filter(([, row]) => (ref.kind === 'in-flight') === (row.status === null));
  const found = candidates[ref.existing % Math.max(1, candidates.length)];
  if (!found) return { key: run.keys.fresh(`no-${ref.kind}-${ref.existing}`), name: `${ref.kind === 'final' ? 'final' : 'in-flight'}#${ref.existing} (the state has none)` };
  const index = historyIndexOf(found[0]);
  return { key: found[0], name: index === undefined ? `existing ${found[0].slice(0, 8)}` : `h${index}` };
}

function statementOf(op: ResolvedOperation, run: RunContext): Statement {
  const requestId = (key: string) => `run-${run.keys.tag}-${key.slice(0, 8)}`;
  switch (op.kind) {
    case 'insertDecision':
      return writePath.insertDecision(op.d.key, requestId(op.d.key), op.rule, op.provider);
    case 'recordInference':
      return writePath.recordInference(op.i.key, op.provider, op.status, op.httpStatus);
    case 'completeDecision':
      return writePath.completeDecision(op.d.key, op.i.key);
    case 'failProvider':
      return writePath.failProvider(op.d.key, op.i.key);
    case 'failover':
      return writePath.failover(op.d.key, op.to);
    case 'preDispatchFail':
      return writePath.preDispatchFail(op.d.key);
    case 'completeUnlinked':
      return writePath.completeUnlinked(op.d.key, op.stamped);
    case 'failProviderUnlinked':
      return writePath.failProviderUnlinked(op.d.key, op.stamped);
    case 'insertCompleted':
      return writePath.insertCompleted(op.d.key, requestId(op.d.key), op.rule, op.provider, op.status, op.stamped);
    case 'unlinkInference':
      return writePath.unlinkInference(op.d.key);
    case 'clearOverride':
      return writePath.clearOverride(op.d.key);
    case 'overrideRule':
      return writePath.overrideRule(op.d.key, 'manual_override');
  }
}
