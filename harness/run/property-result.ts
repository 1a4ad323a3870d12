/** The groups `--group` selects, and the deploy rehearsal's own properties (`rehearse`, `verify --rows`). */
export const GROUPS = ['migration', 'writes', 'concurrency'] as const;
export type PropertyGroup = (typeof GROUPS)[number] | 'rehearsal';

import type { ServerError } from '../sessions/step-outcome.ts';

/** The minimal failing case of a property, as a person reads it. */
export interface Counterexample {
  steps: string[];
  expected: string;
  actual: string;
  /** The server's error behind `actual`: SQLSTATE, constraint, message, DETAIL and HINT. */
  error?: ServerError;
  /** The SQL each step ran, when there is SQL to show. */
  sql?: string[];
  /** Anything else worth reading: catalog diffs, changed tables, further mismatches. */
  details?: string[];
  /** One command that replays this failure. */
  replay?: string;
  /** One command that prints this failure as a self-contained script. */
  script?: string;
}

/** What a property reports, whichever group it belongs to. */
export interface PropertyResult {
  name: string;
  group: PropertyGroup;
  ok: boolean;
  runs: number;
  ms: number;
  seed: number;
  /** fast-check's replay path of the failing run. */
  path?: string;
  counterexample?: Counterexample;
  /** Facts worth printing even on success (e.g. drift diffs, lock waits). */
  notes?: string[];
  /** The live deploy's facts besides its verdict (its property only). */
  liveDeploy?: LiveDeployFacts;
}

/** What the runs of a live deploy saw: copies, waits on the migration's lock, writers' deadlocks and cancellations. */
export interface LiveDeployFacts {
  revisions: string[];
  runs: number;
  copies: number;
  lockWaits: { count: number; maxMs: number; totalMs: number };
  /** Writer statements the server chose as deadlock victims (40P01). */
  writerDeadlocks: number;
  /** Writer statements cancelled (57014, or past the executor's step timeout). */
  writerCancellations: number;
  runsWithAborts: number;
  /** The first run in which a writer deadlocked or was cancelled: its replay path, its flows and schedule, and what was aborted. */
  example?: { path: string; steps: string[]; aborted: string[]; permutation: string };
  /** Runs the state differential could not judge (a live deploy of a suite without a model), and why the first could not. */
  unjudged?: { runs: number; why: string };
}

/** A property whose run broke down (an exception rather than a counterexample). */
export function brokenRun(base: Omit<PropertyResult, 'ok' | 'counterexample'>, failure: unknown, steps: string[] = []): PropertyResult {
  const actual = failure instanceof Error ? failure.message : String(failure);
  return { ...base, ok: false, counterexample: { steps, expected: 'the run to complete', actual } };
}
