import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import type pg from 'pg';
import { SetupError } from '../errors.ts';
import type { HistoryEvent, WriterStepMeta } from '../check/model.ts';
import { World } from '../check/world.ts';
import { runSequentially, type Program } from '../sessions/index.ts';
import type { CaseStep, Suite } from '../suite.ts';
import { writerProgram } from '../groups/writes/run-history.ts';
import { FreshKeys } from '../groups/writes/run-keys.ts';

/** One flow a writer ran: its statements as events (session 0 of its own little history) and its keys. */
export interface WriterCase {
  writer: number;
  label: string;
  keys: FreshKeys;
  events: HistoryEvent[];
  /** When the flow was due to start (its first statement's latency counts from here). */
  due: number;
}

/** One statement a writer sent, as the gateway feels it. */
export interface WriteTiming {
  writer: number;
  pid: number;
  /** When it was due: the flow's scheduled start for its first statement, the previous statement's end otherwise. */
  due: number;
  start: number;
  end: number;
  /** end − due: what the caller waited, queueing behind a stalled flow included. */
  latencyMs: number;
}

/**
 * The suite's own flows, one after another: the concurrent property's cases with their
 * sessions run back to back (a serial order of the flows), or the write property's sequences.
 * Every flow gets fresh keys and an empty view of the state's rows, so writers never meet one
 * another and each flow is checked against the model on its own.
 */
export function flowSource<Op>(suite: Suite<Op>, seed: number, writer: number): () => { label: string; steps: readonly CaseStep<Op>[] } {
  const batch: { label: string; steps: readonly CaseStep<Op>[] }[] = [];
  let round = 0;
  return () => {
    if (batch.length === 0) {
      const runSeed = (seed + writer * 7919 + round++ * 104_729) | 0;
      if (suite.concurrency) {
        for (const c of fc.sample(suite.concurrency.cases, { seed: runSeed, numRuns: 50 })) {
          batch.push({ label: c.labels.join(' | ') || 'setup only', steps: [...c.setup.map((op) => ({ kind: 'op' as const, op })), ...c.sessions.flat()] });
        }
      } else if (suite.writes) {
        for (const ops of fc.sample(suite.writes.operations, { seed: runSeed, numRuns: 50 })) batch.push({ label: `${ops.length} operation(s)`, steps: ops.map((op) => ({ kind: 'op' as const, op })) });
      } else {
        throw new SetupError(`suite ${suite.name} has no write or concurrency property: the rehearsal has no flows to write with`);
      }
    }
    return batch.shift()!;
  };
}

export interface WriterOptions {
  writer: number;
  /** Flows started per second. */
  rate: number;
  clock: () => number;
  /** Stop starting flows once this returns true. */
  stopped: () => boolean;
}

/**
 * A gateway session at a steady rate: a flow every 1/rate seconds (at once when it is late),
 * its statements back to back, each timed. Latency counts from when a statement was due, so a
 * stall shows in every flow it delays, not only in the one statement that waited.
 */
export async function runWriter<Op>(client: pg.ClientBase, pid: number, suite: Suite<Op>, next: ReturnType<typeof flowSource<Op>>, options: WriterOptions): Promise<{ cases: WriterCase[]; timings: WriteTiming[] }> {
  const { clock, writer } = options;
  const cases: WriterCase[] = [];
  const timings: WriteTiming[] = [];
  const started = clock();
  for (let k = 0; !options.stopped(); k++) {
    const due = started + (k * 1000) / options.rate;
    const wait = due - clock();
    if (wait > 0) await sleep(wait);
    if (options.stopped()) break;
    const flow = next();
    const keys = new FreshKeys();
    const program: Program<WriterStepMeta> = writerProgram(suite, flow.steps, { keys, base: World.empty() });
    const events = (await runSequentially(client, program, { session: 0, clock })) as HistoryEvent[];
    events.forEach((event, i) => {
      const dueAt = i === 0 ? Math.min(due, event.start) : events[i - 1]!.end;
      timings.push({ writer, pid, due: dueAt, start: event.start, end: event.end, latencyMs: event.end - dueAt });
    });
    // a flow ends its transactions itself; one that did not must not leak into the next
    if (events.at(-1)?.txStatus !== 'I' && events.length) await client.query('ROLLBACK');
    cases.push({ writer, label: flow.label, keys, events, due });
  }
  return { cases, timings };
}
