import fc from 'fast-check';
import type { ServerError } from '../sessions/step-outcome.ts';
import { commandFor, formatDuration, type RunConfig } from './run-config.ts';
import type { Progress, ProgressTask } from './progress.ts';
import { brokenRun, type Counterexample, type PropertyGroup, type PropertyResult } from './property-result.ts';

/** A property that does not hold on a run: which named result it belongs to, and what was wrong. */
export interface Problem {
  property: string;
  expected: string;
  actual: string;
  details?: string[];
  /** The server's error behind it, with its message, DETAIL and HINT. */
  error?: ServerError;
}

/** What one execution of a case left behind: its problems, and whatever the description needs. */
export interface Execution {
  problems: Problem[];
}

/**
 * What differs between groups; everything else (generation, progress, fast-check's search and
 * shrinking, replay by seed and path, results, commands) is the runner's. One execution may
 * check several named properties at once (the migration group's checks share one experiment).
 */
export interface PropertySpec<Case, Run extends Execution> {
  group: PropertyGroup;
  /** The names of the results this spec reports, in report order. */
  properties: readonly string[];
  /** The label progress shows. */
  label: string;
  cases: fc.Arbitrary<Case>;
  /** Runs for this spec (e.g. 1 when every case is the same). */
  runs?: number;
  execute(testCase: Case): Promise<Run>;
  /** The minimal failing run as a person reads it; `problem` is the first of its problems for that property. */
  describe(testCase: Case, run: Run, problem: Problem): Counterexample;
  /**
   * How far into a failing run the failure is (the steps up to the first one the model did not
   * predict, or every step when only the final rows are wrong): the runner prefers the failure
   * that shows soonest, which shrinks smallest.
   */
  size?(run: Run): number;
  /** Facts worth printing even on success, once the runs are done. */
  notes?(): string[];
}

export interface PropertyRun<Case, Run> {
  results: PropertyResult[];
  /** The minimal failing case and what it did, if any (repro scripts are made from them). */
  failing?: Run;
  failingCase?: Case;
}

/** After a first failure, how many more of the run's cases are tried for a smaller one. */
export const LOOKAHEAD = 30;

interface Search<Case, Run> {
  details: fc.RunDetails<[Case]>;
  failing?: Run;
  failingCase?: Case;
}

/**
 * The one runner of every group: fast-check generates cases (from the run's seed, or replays
 * one path), each is executed against PostgreSQL and checked, a failure is shrunk by
 * fast-check to the smallest case that still fails, and each named property gets its result,
 * with the seed always and, on failure, the path, the counterexample and the commands that
 * replay it and turn it into a script.
 *
 * Shrinking finds a local minimum: a failure first met on a long case (an override on an old
 * row, then an unlink) may not shrink to a shorter failure of another kind (one refused
 * insert). When the first failure's minimal case has more than one step, the next LOOKAHEAD
 * cases of the same seed are executed too, and the smallest failing one is shrunk as well; the
 * smaller result is kept. Its path still replays it exactly.
 */
export async function runProperty<Case, Run extends Execution>(spec: PropertySpec<Case, Run>, state: string, config: RunConfig, progress?: Progress): Promise<PropertyRun<Case, Run>> {
  // under --budget, a property whose cases vary runs until its item's deadline (fast-check's own time limit)
  const budgeted = config.budget && config.deadline !== undefined && !config.path && spec.runs === undefined ? config.budget : undefined;
  const runs = config.path ? Number(config.path.split(':')[0]) + 1 : budgeted ? BUDGETED_RUNS : (spec.runs ?? config.runs);
  const task = budgeted ? progress?.start(state, spec.label, spec.group, budgeted.minRuns, 'budget') : progress?.start(state, spec.label, spec.group, runs);
  const firstFailure = new Map<string, number>();
  const started = performance.now();
  const deadline = budgeted ? { ...config.deadline!, minRuns: budgeted.minRuns } : undefined;
  let best = await search(spec, config.seed, { numRuns: runs, ...(config.path ? { path: config.path } : {}) }, task, firstFailure, deadline);
  const timeLeft = deadline === undefined || performance.now() < deadline.end;
  if (best.failing && spec.size && !config.path && spec.size(best.failing) > 1 && timeLeft) best = await lookahead(spec, config.seed, budgeted ? best.details.numRuns : runs, best, task);
  const { details, failing, failingCase } = best;
  const ms = Math.round(performance.now() - started);
  const base = (name: string) => ({ name, group: spec.group, runs: details.numRuns, ms, seed: details.seed });
  const path = details.counterexamplePath ?? undefined;
  const results = spec.properties.map((name): PropertyResult => {
    // (fast-check calls a search interrupted before its first run failed, with no counterexample: it is the budget's doing)
    const heldEveryRun = !details.failed || (details.interrupted && details.counterexample === null);
    if (budgeted && heldEveryRun && details.numRuns < budgeted.minRuns) return tooFewRuns(base(name), budgeted, config, state, spec.group);
    if (!details.failed) return { ...base(name), ok: true, ...(spec.notes ? { notes: spec.notes() } : {}) };
    if (!failing) return firstFailure.has(name) || firstFailure.size === 0 ? brokenRun({ ...base(name), path }, details.errorInstance ?? 'the property failed without a recorded run') : { ...base(name), ok: true };
    const problem = failing.problems.find((p) => p.property === name);
    if (!problem) {
      // held on the minimal case; if it failed on some earlier, unshrunk run, say so
      const at = firstFailure.get(name);
      return at === undefined ? { ...base(name), ok: true } : { ...base(name), ok: false, runs: at, notes: [`failed on run ${at}, not on the minimal case (another property's failure was shrunk)`] };
    }
    const ref = { state, group: spec.group, property: name, seed: details.seed, path };
    const described = spec.describe(failingCase as Case, failing, problem);
    const counterexample = problem.error && !described.error ? { ...described, error: problem.error } : described;
    return { ...base(name), ok: false, path, counterexample: { ...counterexample, replay: commandFor('verify', config, ref), script: commandFor('repro', config, ref) } };
  });
  task?.done({ ...base(spec.label), ok: results.every((result) => result.ok) });
  return { results, failing, failingCase };
}

/** Runs asked of fast-check under --budget: more than any time slot holds; its time limit ends the run. */
const BUDGETED_RUNS = 2 ** 30;

/**
 * A property that held on every run it got, but got fewer than --min-runs in its share of the
 * budget: not a pass. It says how many it got, and the command that gives it its runs alone.
 */
function tooFewRuns(base: Omit<PropertyResult, 'ok'>, budget: NonNullable<RunConfig['budget']>, config: RunConfig, state: string, group: PropertyResult['group']): PropertyResult {
  const alone = commandFor('verify', { ...config, budget: undefined }, { state, group, property: base.name, seed: base.seed });
  return {
    ...base,
    ok: false,
    counterexample: {
      steps: [],
      expected: `at least ${budget.minRuns} runs (--min-runs) within --budget ${formatDuration(budget.ms)}`,
      actual: `only ${base.runs} run(s) in ${(base.ms / 1000).toFixed(1)} s, every one of which held: too few to call it a pass`,
      details: [`give the run more time (--budget), fewer states or groups, or run this property alone: ${alone} --runs ${budget.minRuns}`],
    },
  };
}

/** One fast-check search and shrink, remembering what each execution did. */
async function search<Case, Run extends Execution>(
  spec: PropertySpec<Case, Run>,
  seed: number,
  parameters: { numRuns: number; path?: string },
  task: ProgressTask | undefined,
  firstFailure: Map<string, number>,
  /** Under --budget: no new case starts past `share` once `minRuns` ran, nor past `end` (the run in flight ends first; a failure already found is still shrunk). */
  deadline?: { share: number; end: number; minRuns: number },
): Promise<Search<Case, Run>> {
  const executions = new WeakMap<object, Run>();
  let executed = 0;
  let failed = false;
  const details = await fc.check(
    fc.asyncProperty(spec.cases, async (testCase) => {
      // fast-check's own time limit would race the run in flight and leave it running against the
      // database; an interruption raised between runs ends the search cleanly
      if (deadline && !failed) {
        const now = performance.now();
        if (now >= deadline.end || (now >= deadline.share && executed >= deadline.minRuns)) throw new fc.PreconditionFailure(true);
      }
      let passed = false;
      try {
        const run = await spec.execute(testCase);
        executed++;
        if (typeof testCase === 'object' && testCase !== null) executions.set(testCase, run);
        for (const problem of run.problems) if (!firstFailure.has(problem.property)) firstFailure.set(problem.property, executed);
        passed = run.problems.length === 0;
        failed ||= !passed;
        return passed;
      } finally {
        task?.tick(passed);
      }
    }),
    { ...parameters, seed, endOnFailure: false },
  );
  const failingCase = details.counterexample?.[0];
  const failing = failingCase !== undefined && typeof failingCase === 'object' && failingCase !== null ? executions.get(failingCase) : undefined;
  return { details, failing, failingCase: failing ? failingCase : undefined };
}

/** The second pass: the next cases of the same seed, and a shrink of the smallest that fails, if it ends smaller. */
async function lookahead<Case, Run extends Execution>(spec: PropertySpec<Case, Run>, seed: number, runs: number, first: Search<Case, Run>, task: ProgressTask | undefined): Promise<Search<Case, Run>> {
  const firstIndex = Number(first.details.counterexamplePath!.split(':')[0]);
  // a failure its spec ranks below others as short (a fractional size: two databases that both
  // refused a write, naming different constraints) is looked past through the whole budget
  const ahead = Number.isInteger(spec.size!(first.failing!)) ? LOOKAHEAD : runs;
  const cases = fc.sample(spec.cases, { seed, numRuns: Math.min(runs, firstIndex + 1 + ahead) }).slice(firstIndex + 1);
  const failing: { index: number; size: number }[] = [];
  for (const [offset, testCase] of cases.entries()) {
    const run = await spec.execute(testCase);
    task?.tick(run.problems.length === 0);
    if (run.problems.length > 0) failing.push({ index: firstIndex + 1 + offset, size: spec.size!(run) });
  }
  const smallest = failing.sort((a, b) => a.size - b.size || a.index - b.index)[0];
  if (!smallest) return first;
  const other = await search(spec, seed, { numRuns: runs, path: String(smallest.index) }, task, new Map());
  return other.failing && spec.size!(other.failing) < spec.size!(first.failing!) ? { ...other, details: { ...other.details, numRuns: first.details.numRuns } } : first;
}
