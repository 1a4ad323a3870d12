import type pg from 'pg';
import { SetupError, errorMessage } from '../errors.ts';
import { withClient } from '../postgres/index.ts';
import { checkForeignKeys, skipTriggersIfSafe } from './bulk-load.ts';
import { perCloneSteps, type RowSlice, type StartingState, type StateStep } from './starting-state.ts';
import { liveTarget, runStateSteps, type StateTarget } from './state-steps.ts';
import type { StateTemplates } from './state-templates.ts';

type RowsStep = Extract<StateStep, { kind: 'rows' }>;

/** A state can be built at scale: it has generated rows, each with a history at scale. */
export function assertScalable(state: StartingState): void {
  const steps = perCloneSteps(state);
  const missing = steps.filter((step): step is RowsStep => step.kind === 'rows' && !step.atScale);
  if (!steps.some((step) => step.kind === 'rows')) throw new SetupError(`state ${state.name} has no generated rows to rehearse at scale`);
  if (missing.length) throw new SetupError(`state ${state.name}: "${missing[0]!.label}" has no history at scale (generatedRows(label, rows, atScale) in the suite's states)`);
}

/** A copy of a state at one size, ready to deploy onto. */
export interface ScaledState {
  rows: number;
  database: string;
  drop(): Promise<void>;
}

/** How a size was built: rows loaded and the time it took (the rows' INSERTs, VACUUM ANALYZE, the copy it grew from). */
export interface ScaleTiming {
  rows: number;
  loadedRows: number;
  ms: number;
}

/**
 * Builds a state at several sizes with its suite's set-based history (`generatedRows(…,
 * atScale)`): slices of rows loaded side by side on `workers` connections, each an
 * `INSERT … SELECT … generate_series` (triggers skipped and foreign keys checked once after,
 * when that is safe: see bulk-load.ts), then `VACUUM (ANALYZE)` so that the deploy meets pages
 * as a long-lived table has them (hint bits set, statistics known) instead of paying for the
 * load's first read. A size grows from a copy of the one below it when the state's steps allow
 * (its rows are its last generated step), so N/4, N/2 and N cost about N rows, not 1.75 N.
 * Each size is handed out as a fresh copy (`copy`), as many times as needed.
 */
export class ScaledStates {
  private readonly built = new Map<number, string>();
  readonly timings: ScaleTiming[] = [];

  private constructor(
    private readonly templates: StateTemplates,
    private readonly state: StartingState,
    private readonly workers: number,
    private readonly log: (line: string) => void,
  ) {}

  static async build(templates: StateTemplates, state: StartingState, sizes: readonly number[], workers: number, log: (line: string) => void): Promise<ScaledStates> {
    assertScalable(state);
    const scaled = new ScaledStates(templates, state, workers, log);
    try {
      await scaled.buildAll([...new Set(sizes)].sort((a, b) => a - b));
    } catch (error) {
      await scaled.close();
      throw error;
    }
    return scaled;
  }

  /**
   * A state at its own size, as it is (a snapshot of the team's data): one copy of its
   * template, vacuumed and analysed; `rows` is what the rehearsal calls its size (the largest
   * table's row count).
   */
  static async asIs(templates: StateTemplates, state: StartingState, log: (line: string) => void): Promise<{ scaled: ScaledStates; rows: number }> {
    const scaled = new ScaledStates(templates, state, 1, log);
    const started = performance.now();
    const database = (await templates.cloneWithoutHistory(state, `${state.name}_as_is`)).name;
    try {
      const rows = await withClient(templates.connectionConfig(database), async (client) => {
        await client.query('VACUUM (ANALYZE)');
        const { rows: tables } = await client.query<{ t: string }>(`SELECT format('%I.%I', n.nspname, c.relname) AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'`);
        let largest = 0;
        for (const { t } of tables) largest = Math.max(largest, Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${t}`)).rows[0]!.n));
        return largest;
      });
      scaled.built.set(rows, database);
      scaled.timings.push({ rows, loadedRows: 0, ms: Math.round(performance.now() - started) });
      log(`rehearsing ${state.name} at its own size: ${rows} rows in its largest table`);
      return { scaled, rows };
    } catch (error) {
      await templates.databases.drop(database).catch(() => undefined);
      throw error;
    }
  }

  /** A fresh copy of the state at `rows` (one of the built sizes). */
  async copy(rows: number, label = `${this.state.name}_${rows}`): Promise<ScaledState> {
    const template = this.built.get(rows);
    if (!template) throw new Error(`no copy of ${this.state.name} at ${rows} rows was built`);
    const database = await this.templates.databases.create(label, template, { fileCopy: true });
    return { rows, database, drop: () => this.templates.databases.drop(database) };
  }

  async close(): Promise<void> {
    for (const name of this.built.values()) await this.templates.databases.drop(name).catch(() => undefined);
    this.built.clear();
  }

  private async buildAll(sizes: number[]): Promise<void> {
    const steps = perCloneSteps(this.state);
    const lastRows = steps.findLastIndex((step) => step.kind === 'rows');
    // rows first, anything else after them: a size can grow from the one below it
    const growable = steps.slice(0, lastRows + 1).every((step) => step.kind === 'rows');
    let previous: { rows: number; database: string } | undefined;
    for (const rows of sizes) {
      const started = performance.now();
      const from = growable && previous ? previous : undefined;
      const database = from ? await this.templates.databases.create(`${this.state.name}_${rows}`, from.database, { fileCopy: true }) : (await this.templates.cloneWithoutHistory(this.state, `${this.state.name}_${rows}`)).name;
      try {
        const slice = { from: from?.rows ?? 0, to: rows };
        await withClient(this.templates.connectionConfig(database), async (client) => {
          const target = this.scaleTarget(client, database, slice);
          if (from) {
            for (const step of steps.slice(0, lastRows + 1)) await target.rows({ sql: [], summary: [] }, step as RowsStep);
          } else {
            await runStateSteps(this.state, steps.slice(0, lastRows + 1), [], this.templates.migrator, this.templates.anchor, target);
          }
          await client.query('VACUUM (ANALYZE)');
        });
      } catch (error) {
        await this.templates.databases.drop(database).catch(() => undefined);
        throw error;
      }
      this.built.set(rows, database);
      const loadedRows = rows - (from?.rows ?? 0);
      const ms = Math.round(performance.now() - started);
      this.timings.push({ rows, loadedRows, ms });
      this.log(`built ${this.state.name} at ${rows} rows (${loadedRows} loaded) in ${ms} ms, ${Math.round(loadedRows / Math.max(ms, 1) * 1000)} rows/s`);
      previous = { rows, database };
    }
    // the steps after the rows (a constraint added NOT VALID, a stamp) go on every size
    const rest = steps.slice(lastRows + 1);
    if (rest.length) {
      for (const [rows, database] of this.built) {
        await withClient(this.templates.connectionConfig(database), (client) =>
          runStateSteps(this.state, rest, [], this.templates.migrator, this.templates.anchor, liveTarget(client, this.templates.migrator)).then(() => client.query('VACUUM (ANALYZE)')),
        );
        this.log(`completed ${this.state.name} at ${rows} rows: ${rest.length} step(s) after its rows`);
      }
    }
  }

  /** Steps on one database, the rows of `slice` loaded in slices side by side on several connections. */
  private scaleTarget(client: pg.Client, database: string, slice: RowSlice): StateTarget {
    return {
      ...liveTarget(client, this.templates.migrator),
      rows: (_rows, step) => this.load(database, step, slice),
    };
  }

  private async load(database: string, step: RowsStep, range: RowSlice): Promise<void> {
    const size = Math.max(1, Math.min(50_000, Math.ceil((range.to - range.from) / (this.workers * 4))));
    const slices: RowSlice[] = [];
    for (let from = range.from; from < range.to; from += size) slices.push({ from, to: Math.min(range.to, from + size) });
    let skipped = false;
    const worker = () =>
      withClient(this.templates.connectionConfig(database), async (client) => {
        skipped = (await skipTriggersIfSafe(client)) || skipped;
        for (let slice = slices.shift(); slice; slice = slices.shift()) {
          try {
            for (const sql of step.atScale!(slice).sql) await client.query(sql);
          } catch (error) {
            slices.length = 0;
            throw new SetupError(`state ${this.state.name}, "${step.label}" at scale (rows ${slice.from}–${slice.to - 1}): ${errorMessage(error)}`);
          }
        }
      });
    const results = await Promise.allSettled(Array.from({ length: Math.min(this.workers, slices.length) }, worker));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    if (skipped) await withClient(this.templates.connectionConfig(database), (client) => checkForeignKeys(client, this.state.name));
  }
}
