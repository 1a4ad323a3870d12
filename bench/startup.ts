import fc from 'fast-check';
import pg from 'pg';
import { loadMigrations, Migrator } from '../harness/migrate/index.ts';
import { EmbeddedPostgresProvider, ScratchDatabases, type PostgresServer } from '../harness/postgres/index.ts';
import { StateTemplates } from '../harness/states/index.ts';
import suite from '../properties/routing-outcomes/suite.ts';
import { median, type BenchLine } from './measure.ts';

/**
 * SPEC §8: embedded PostgreSQL up and every starting-state template built (target < 3 s),
 * and what one clone of a state costs (CREATE DATABASE … TEMPLATE plus its generated rows).
 */
export async function benchStartup(rounds = 3): Promise<{ lines: BenchLine[]; server: PostgresServer }> {
  const migrator = new Migrator(await loadMigrations(suite.migrationsDir));
  const upMs: number[] = [];
  const templatesMs: number[] = [];
  let server: PostgresServer | undefined;
  for (let round = 0; round < rounds; round++) {
    await server?.stop();
    const started = performance.now();
    server = await new EmbeddedPostgresProvider().start();
    upMs.push(performance.now() - started);
    const databases = new ScratchDatabases(server);
    const templates = new StateTemplates(databases, migrator);
    const building = performance.now();
    await templates.buildAll(suite.states);
    templatesMs.push(performance.now() - building);
    if (round === rounds - 1) {
      const lines = await benchClones(templates, server);
      await databases.close();
      const total = upMs.map((up, i) => up + templatesMs[i]!);
      return {
        server,
        lines: [
          { name: 'embedded PostgreSQL up (initdb + start)', value: median(upMs), unit: 'ms', note: `median of ${rounds}` },
          { name: `${suite.states.length} state templates built`, value: median(templatesMs), unit: 'ms', note: `median of ${rounds}` },
          { name: 'up + every template (target < 3000 ms)', value: median(total), unit: 'ms', note: `runs: ${total.map((t) => Math.round(t)).join(', ')}` },
          ...lines,
        ],
      };
    }
    await databases.close();
  }
  throw new Error('unreachable');
}

async function benchClones(templates: StateTemplates, server: PostgresServer): Promise<BenchLine[]> {
  const state = suite.states.find((s) => s.name === 'prod-drift')!;
  const histories = fc.sample(templates.historyArbitrary(state), { numRuns: 30, seed: 1 });
  const cloneMs: number[] = [];
  for (const history of histories) {
    const started = performance.now();
    const database = await templates.clone(state, history);
    cloneMs.push(performance.now() - started);
    const client = new pg.Client(server.connectionConfig(database.name));
    await client.connect();
    await client.end();
    await database.drop();
  }
  return [{ name: 'one clone of prod-drift with its generated history', value: median(cloneMs), unit: 'ms', note: `median of ${cloneMs.length}` }];
}
