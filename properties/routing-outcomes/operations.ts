import type { DecisionRule, Provider } from './domain.ts';

/**
 * A decision an operation acts on: one the run creates (`d1`, a fresh key per run), or one the
 * starting state already holds (the n-th mid-flight or final outcome of its history; `h3` in
 * messages), which is how the rows PROD had in flight when 0031 was deployed get written to.
 */
export type DecisionRef = { fresh: number } | { existing: number; kind: 'in-flight' | 'final' };

/**
 * The operations of SPEC §5 as data. `D` and `I` name decisions and inferences: symbolically
 * in generated cases, by real keys once bound to a run.
 */
export type Operation<D, I> =
  | { kind: 'insertDecision'; d: D; rule: DecisionRule; provider: Provider }
  | { kind: 'recordInference'; i: I; provider: Provider; status: 'ok' | 'error'; httpStatus: number }
  | { kind: 'completeDecision'; d: D; i: I }
  | { kind: 'failProvider'; d: D; i: I }
  | { kind: 'failover'; d: D; to: Provider }
  | { kind: 'preDispatchFail'; d: D }
  | { kind: 'completeUnlinked'; d: D; stamped: boolean }
  | { kind: 'failProviderUnlinked'; d: D; stamped: boolean }
  | { kind: 'insertCompleted'; d: D; rule: DecisionRule; provider: Provider; status: 'success' | 'provider_error'; stamped: boolean }
  | { kind: 'unlinkInference'; d: D }
  | { kind: 'clearOverride'; d: D }
  | { kind: 'overrideRule'; d: D };

/** A key of this run, and how people read it (`d1`, `h3`, `i2`). */
export interface Key {
  key: string;
  name: string;
}

export type RoutingOperation = Operation<DecisionRef, number>;
export type ResolvedOperation = Operation<Key, Key>;

export const fresh = (n: number): DecisionRef => ({ fresh: n });

/** How people read an operation once its keys are known: `completeDecision(h3, i2)`. */
export function label(op: ResolvedOperation): string {
  switch (op.kind) {
    case 'insertDecision':
      return `insertDecision(${op.d.name}, ${op.rule}, ${op.provider})`;
    case 'recordInference':
      return `recordInference(${op.i.name}, ${op.provider}, ${op.status}, ${op.httpStatus})`;
    case 'completeDecision':
    case 'failProvider':
      return `${op.kind}(${op.d.name}, ${op.i.name})`;
    case 'failover':
      return `failover(${op.d.name}, ${op.to})`;
    case 'insertCompleted':
      return `insertCompleted(${op.d.name}, ${op.rule}, ${op.provider}, ${op.status}${op.stamped ? '' : ', no completed_at'})`;
    case 'completeUnlinked':
    case 'failProviderUnlinked':
      return `${op.kind}(${op.d.name}${op.stamped ? '' : ', no completed_at'})`;
    default:
      return `${op.kind}(${op.d.name})`;
  }
}
