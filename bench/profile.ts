import pg from 'pg';
import { chooseProvider, connectClient } from '../harness/postgres/index.ts';
import { executePlan } from '../harness/migrate/index.ts';
import { measurePhases } from '../harness/run/phase-timer.ts';
import type { Suite } from '../harness/suite.ts';
import { verify } from '../harness/verify/verify.ts';
import { benchConfig, withWorkbench, type BenchSuite } from './bench-context.ts';
import { median, type BenchLine } from './measure.ts';

/**
 * Issue 20's profile: where a run's time goes, for a migration-group run, a live-deploy run and
 * a write statement. Each is measured with one worker on an embedded server that loads
 * pg_stat_statements: the phases the harness times (harness/run/phase-timer.ts), per run, and
 * the server's own time (execution and planning of every statement, from pg_stat_statements);
 * what is left of a run's wall time is the client (generation, checks) and the round trips.
 */
export async function benchProfile({ suite }: BenchSuite): Promise<BenchLine[]> {
  const server = await withSettings('shared_preload_libraries=pg_stat_statements;pg_stat_statements.track_planning=on;pg_stat_statements.track=top', () => chooseProvider({ provider: 'embedded' }).start());
  try {
    const admin = await connectClient(server.connectionConfig(server.maintenanceDatabase));
    const statements = await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements').then(() => true, () => false);
    const lines: BenchLine[] = [];
    const writable = suite.states.find((s) => s.expect === 'converge' && s.steps.some((step) => step.kind === 'rows'))?.name ?? suite.states[0]!.name;
    const deployState = suite.concurrency?.deployStates[0];
    const cases: { what: string; state: string; groups: ('migration' | 'writes' | 'concurrency')[]; property?: string; runs: number; per: (runs: number, statements: number) => number; unit: string }[] = [
      { what: 'migration-group run', state: migrationState(suite), groups: ['migration'], runs: 300, per: (runs) => runs, unit: 'run' },
      ...(deployState ? [{ what: 'live-deploy run', state: deployState, groups: ['concurrency' as const], property: 'live-deploy-keeps-valid-writes', runs: 100, per: (runs: number) => runs, unit: 'run' }] : []),
      ...(suite.writes ? [{ what: 'write statement', state: writable, groups: ['writes' as const], runs: 400, per: (_runs: number, sent: number) => sent, unit: 'statement' }] : []),
    ];
    for (const c of cases) {
      const config = benchConfig(suite, { states: [c.state], groups: c.groups, runs: c.runs, workers: 1, ...(c.property ? { property: c.property } : {}) });
      await verify(suite, { ...config, runs: 10 }, { server }); // warm-up
      if (statements) await admin.query('SELECT pg_stat_statements_reset()');
      const started = performance.now();
      const { result: report, phases } = await measurePhases(() => verify(suite, config, { server }));
      const wall = performance.now() - started;
      const property = report.states[0]!.properties.find((p) => p.group === c.groups[0] && (!c.property || p.name === c.property))!;
      const db = statements ? await serverTime(admin) : undefined;
      const sent = db?.writes ?? 0;
      const n = c.per(property.runs, sent);
      const measured = [...phases.values()].reduce((a, b) => a + b, 0);
      lines.push({ name: `one ${c.what} (${c.state}, ${property.runs} runs${c.unit === 'statement' ? `, ${n} statements` : ''}), wall`, value: wall / n, unit: 'ms', note: `${report.ok ? 'held' : 'FAILED'}; the whole verify, server start excluded` });
      for (const [phase, ms] of phases) lines.push({ name: `  ${phase}`, value: ms / n, unit: 'ms', note: `${Math.round((ms / wall) * 100)}%` });
      lines.push({ name: '  the rest (generation, opening the databases, the runner)', value: (wall - measured) / n, unit: 'ms', note: `${Math.round(((wall - measured) / wall) * 100)}%` });
      if (db) lines.push({ name: '  of all that, PostgreSQL executing and planning', value: db.ms / n, unit: 'ms', note: `${Math.round((db.ms / wall) * 100)}% (pg_stat_statements: ${(db.calls / n).toFixed(1)} statements per ${c.unit}); the rest is the client and the round trips` });
      else lines.push({ name: '  of all that, PostgreSQL executing and planning', value: Number.NaN, unit: 'ms', note: 'pg_stat_statements could not be loaded on this server' });
    }
    await admin.end();
    return [...lines, ...(await benchFloor(suite))];
  } finally {
    await server.stop();
  }
}

/** Execution and planning time of every statement since the reset (the reading query itself excluded), and how many were writes of the suite's tables. */
async function serverTime(admin: pg.Client): Promise<{ ms: number; calls: number; writes: number }> {
  const result = await admin.query<{ ms: number; calls: string; writes: string }>(
    `SELECT coalesce(sum(total_exec_time + total_plan_time), 0)::float8 AS ms, coalesce(sum(calls), 0) AS calls,
            coalesce(sum(calls) FILTER (WHERE query ~* '^\\s*(insert|update|delete)\\s' AND query !~* 'schema_migrations'), 0) AS writes
       FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'`,
  );
  return { ms: result.rows[0]!.ms, calls: Number(result.rows[0]!.calls), writes: Number(result.rows[0]!.writes) };
}

/** A converging state with histories whose migration applies something (the migration group's typical run). */
function migrationState(suite: Suite<unknown>): string {
  return (suite.states.find((s) => s.expect === 'converge' && s.steps.some((step) => step.kind === 'rows') && s.steps.some((step) => step.kind === 'sql')) ?? suite.states.find((s) => s.expect === 'converge'))!.name;
}

/**
 * The floor of a migration run: the target revision's `ADD CONSTRAINT` statements alone, bare,
 * under a savepoint on a copy of a state where they apply, beside the harness's migration run
 * (the plan as the runner sends it: its bookkeeping, savepoints and version row) on the same
 * copy. Both are undone by ROLLBACK TO SAVEPOINT, timed in both; median of 5 rounds.
 */
async function benchFloor(suite: Suite<unknown>): Promise<BenchLine[]> {
  const candidates = suite.states.filter((s) => s.expect === 'converge');
  return withWorkbench(suite, benchConfig(suite, { states: candidates.map((s) => s.name), groups: ['migration'] }), async (bench) => {
    const target = bench.migrator.chain.get(bench.to);
    const adds = target.statements.filter((s) => /\badd\s+constraint\b/i.test(s.sql));
    const bare = (adds.length ? adds : target.statements).map((s) => s.sql);
    for (const state of bench.states) {
      const database = await bench.templates.cloneWithoutHistory(state, `floor_${state.name}`);
      const client = await connectClient(bench.templates.connectionConfig(database.name));
      try {
        await client.query('BEGIN');
        await bench.templates.completeState(client, state, bench.templates.historyFor(state, 7), 'nested');
        const applied = await bench.migrator.applied(client);
        const plan = bench.migrator.planTo(applied, bench.to);
        if (plan.migrations.length !== 1) continue;
        const floor = async () => {
          await client.query('SAVEPOINT ch_floor');
          for (const sql of bare) await client.query(sql);
          await client.query('ROLLBACK TO SAVEPOINT ch_floor');
        };
        const harness = async () => {
          await client.query('SAVEPOINT ch_floor');
          const run = await executePlan(client, plan, 'nested');
          if (run.error) throw run.error;
          await client.query('ROLLBACK TO SAVEPOINT ch_floor');
        };
        if (!(await floor().then(() => true, async () => (await client.query('ROLLBACK TO SAVEPOINT ch_floor'), false)))) continue;
        const rounds: { floor: number; harness: number }[] = [];
        for (let round = 0; round < 6; round++) {
          const time = async (work: () => Promise<void>) => {
            const started = performance.now();
            for (let i = 0; i < 200; i++) await work();
            return (performance.now() - started) / 200;
          };
          const measured = { floor: await time(floor), harness: await time(harness) };
          if (round > 0) rounds.push(measured); // the first round warms the caches
        }
        const [floorMs, harnessMs] = [median(rounds.map((r) => r.floor)), median(rounds.map((r) => r.harness))];
        return [
          { name: `migration floor: ${bare.length} bare statement(s) of ${target.revision} (${bare.map((s) => s.split(/\s+/).slice(0, 3).join(' ')).join('; ')}) under a savepoint (${state.name})`, value: floorMs, unit: 'ms', note: `SAVEPOINT, the statement(s), ROLLBACK TO SAVEPOINT; median of 5 rounds of 200: ${rounds.map((r) => r.floor.toFixed(2)).join(', ')}` },
          { name: `the harness's migration run, same copy (${plan.units.length} unit(s) as the ${bench.migrator.runner} runner sends them)`, value: harnessMs, unit: 'ms', note: `median of 5: ${rounds.map((r) => r.harness.toFixed(2)).join(', ')}` },
          { name: 'ratio migration run / floor (target <= 2)', value: harnessMs / floorMs, unit: '×', note: `per round: ${rounds.map((r) => (r.harness / r.floor).toFixed(2)).join(', ')}` },
        ];
      } finally {
        await client.end().catch(() => undefined);
        await database.drop();
      }
    }
    return [{ name: 'migration floor', value: Number.NaN, unit: 'ms', note: `no converging state where ${target.revision} alone applies` }];
  });
}

async function withSettings<T>(settings: string, work: () => Promise<T>): Promise<T> {
  const before = process.env.CONSTRAINT_HARNESS_PG_SETTINGS;
  process.env.CONSTRAINT_HARNESS_PG_SETTINGS = settings;
  try {
    return await work();
  } finally {
    if (before === undefined) delete process.env.CONSTRAINT_HARNESS_PG_SETTINGS;
    else process.env.CONSTRAINT_HARNESS_PG_SETTINGS = before;
  }
}


