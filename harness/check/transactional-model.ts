import { formatActual, formatExpected, matches, type ExpectedOutcome } from '../sessions/index.ts';
import type { HistoryEvent, Mismatch, Prediction, SchemaPhase, StartContext } from './model.ts';
import { OverlayView, writeId, type RowWrite, type World } from './world.ts';

/** A writer session's open transaction: its own writes, visible to it alone until COMMIT. */
interface SessionState {
  open: boolean;
  aborted: boolean;
  writes: ReadonlyMap<string, RowWrite>;
}

/** The database as the model sees it between two statements. */
export interface ModelState {
  committed: World;
  sessions: readonly SessionState[];
  schema: SchemaPhase;
}

/** Which session applies the migration, and which of its steps carry the migration's statements. */
export interface MigrationSession {
  session: number;
  statementSteps: readonly number[];
}

const IDLE: SessionState = { open: false, aborted: false, writes: new Map() };
const OK: ExpectedOutcome = { kind: 'ok' };

export function initialModelState(committed: World, writers: number, schema: SchemaPhase): ModelState {
  return { committed, sessions: Array.from({ length: writers }, () => IDLE), schema };
}

/** A canonical text of a model state, for remembering the states a search has explored. */
export function stateKey(state: ModelState): string {
  const sessions = state.sessions.map((s) => (s.open ? `${s.aborted ? 'A' : 'O'}${JSON.stringify([...s.writes.entries()])}` : '-'));
  return `${state.schema}|${sessions.join('|')}|${state.committed.fingerprint()}`;
}

export type Transition = { next: ModelState[] } | { mismatch: Mismatch };

/**
 * READ COMMITTED, statement by statement: a statement sees the committed rows plus its own
 * transaction's; a transaction's writes become visible at COMMIT; an error inside a transaction
 * aborts it (later statements fail with 25P02, COMMIT rolls back); a deadlock victim (40P01) is
 * the server's choice and always admissible. The migration's steps change which schema the
 * writers meet once they are durable (the session is idle again after them).
 */
export function transition(start: StartContext, state: ModelState, event: HistoryEvent, migration?: MigrationSession): Transition {
  const meta = event.step.meta!;
  if (meta.kind === 'migration') return { next: [migrationStep(state, event, migration)] };
  const where = `${meta.who ?? `s${event.session + 1}`} ${meta.label}`;
  if (event.timedOut) return { mismatch: { where, expected: 'to finish', actual: `cancelled after ${Math.round(event.end - event.start)} ms (hung)` } };
  const session = state.sessions[event.session] ?? IDLE;
  const action = meta.action;
  if (action.kind !== 'op') return expectOk(where, event, withSession(state, event.session, control(session, action.kind)));
  if (event.outcome.kind === 'error' && event.outcome.sqlstate === '40P01') {
    return { next: [session.open ? withSession(state, event.session, { ...session, aborted: true, writes: new Map() }) : state] };
  }
  if (session.open && session.aborted) return expect(where, event, [{ expect: { kind: 'error', sqlstate: '25P02' } }], () => state);
  const view = session.open ? new OverlayView(state.committed, session.writes) : state.committed;
  if (!action.op.predict) throw new Error(`${action.op.label}: the operation has no predict, and the suite's oracle is the model (declare oracle: 'state-differential' to judge it against the reference instead)`);
  const predicted = action.op.predict(view, { ...start, schema: state.schema });
  const predictions = Array.isArray(predicted) ? (predicted as readonly Prediction[]) : [predicted as Prediction];
  return expect(where, event, predictions, (prediction) => afterStatement(state, event.session, session, prediction));
}

function afterStatement(state: ModelState, index: number, session: SessionState, prediction: Prediction): ModelState {
  const failed = prediction.expect.kind === 'error';
  if (session.open) {
    if (failed) return withSession(state, index, { ...session, aborted: true, writes: new Map() });
    const writes = new Map(session.writes);
    for (const write of prediction.writes ?? []) writes.set(writeId(write), write);
    return withSession(state, index, { ...session, writes });
  }
  if (failed || !prediction.writes?.length) return state;
  return { ...state, committed: state.committed.with(prediction.writes) };
}

/** BEGIN opens a transaction; COMMIT publishes its writes unless it was aborted; ROLLBACK drops them. */
function control(session: SessionState, kind: 'begin' | 'commit' | 'rollback'): SessionState & { publish?: readonly RowWrite[] } {
  if (kind === 'begin') return session.open ? session : { open: true, aborted: false, writes: new Map() };
  const publish = kind === 'commit' && session.open && !session.aborted ? [...session.writes.values()] : [];
  return { ...IDLE, publish };
}

function withSession(state: ModelState, index: number, session: SessionState & { publish?: readonly RowWrite[] }): ModelState {
  const { publish, ...rest } = session;
  const sessions = state.sessions.map((s, i) => (i === index ? rest : s));
  return { ...state, sessions, committed: publish?.length ? state.committed.with(publish) : state.committed };
}

function expectOk(where: string, event: HistoryEvent, next: ModelState): Transition {
  return expect(where, event, [{ expect: OK }], () => next);
}

function expect(where: string, event: HistoryEvent, predictions: readonly Prediction[], after: (prediction: Prediction) => ModelState): Transition {
  const next = predictions.filter((p) => matches(p.expect, event.outcome)).map(after);
  if (next.length > 0) return { next };
  return { mismatch: { where, expected: predictions.map((p) => formatExpected(p.expect)).join(' or '), actual: formatActual(event.outcome), ...(event.outcome.kind === 'error' ? { error: event.outcome } : {}) } };
}

/** Once the migration's session is idle after a successful step, what it ran so far is durable. */
function migrationStep(state: ModelState, event: HistoryEvent, migration: MigrationSession | undefined): ModelState {
  if (!migration || event.outcome.kind === 'error' || event.txStatus !== 'I') return state;
  const durable = migration.statementSteps.filter((index) => index <= event.index).length;
  const schema: SchemaPhase = durable === 0 ? 'before' : durable === migration.statementSteps.length ? 'after' : 'partial';
  return schema === state.schema ? state : { ...state, schema };
}
