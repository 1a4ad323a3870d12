import type { PropertyResult } from '../run/property-result.ts';
import type { LedgerEntry, LedgerFlag, LockHold } from './lock-ledger.ts';
import type { PhaseStats, PileUp, TimelineBar } from './load-summary.ts';
import type { Projection } from './projection.ts';
import type { ScaleTiming } from '../states/scaled-states.ts';

/** The lock ledger of one deploy at one size. */
export interface SizeLedger {
  rows: number;
  totalMs: number;
  statements: LedgerEntry[];
  holds: LockHold[];
  flags: LedgerFlag[];
  error?: string;
}

/** The deploy under load at the largest size: what the writers felt, phase by phase. */
export interface LoadReport {
  rows: number;
  writers: number;
  /** Flows per second, per writer. */
  rate: number;
  longReaderMs?: number;
  lockTimeoutMs?: number;
  retries: number;
  converged: boolean;
  error?: string;
  attempts: { start: number; end: number; ok: boolean; sqlstate?: string; error?: string }[];
  deployStart?: number;
  deployEnd?: number;
  phases: { before: PhaseStats; during: PhaseStats; after: PhaseStats };
  pileUp: PileUp & { readerHeldMs?: number };
  /** The writer-blocking locks the deploy held in the attempt that applied (from its granting message to the end of its transaction). */
  holds: { relation: string; mode: string; ms: number }[];
  timeline: TimelineBar[];
  /** Flows run and checked against the model; statements timed. */
  flows: number;
  writes: number;
  samples: number;
}

/** What the harness suggests instead, and what deploying it under the same load measured. */
export interface SuggestionReport {
  changes: string[];
  sql?: string;
  lockTimeoutMs?: number;
  retries: number;
  ledger?: SizeLedger;
  projection?: Projection;
  load?: LoadReport;
  /** The suggestion's own stall: its worst of measured and projected. */
  stallMs?: number;
}

/** `rehearse --json`, and the `rehearsal` section of `verify --json` when `--rows` is given. */
export interface RehearsalReport {
  ok: boolean;
  state: string;
  revisions: string[];
  runner: string;
  rows: number;
  prodRows: number;
  build: { sizes: ScaleTiming[]; rowsPerSecond: number };
  /** The ledger at `rows`, statement by statement. */
  statements: LedgerEntry[];
  holds: LockHold[];
  flags: LedgerFlag[];
  /** The ledger at each size (the projection's points). */
  sizes: SizeLedger[];
  /** The writer-blocking lock held longest, projected to prodRows (the headline). */
  projection?: Projection;
  projections: Projection[];
  /** Shortcuts the readers look for: writers per phase, the pile-up. */
  writers?: LoadReport['phases'];
  pileUp?: LoadReport['pileUp'];
  load?: LoadReport;
  /** What the writers would feel at prodRows: the projected hold, plus the wait in front of it. */
  projectedStallMs?: number;
  maxWriteStallMs?: number;
  suggestion?: SuggestionReport;
  properties: PropertyResult[];
  ms: number;
}
