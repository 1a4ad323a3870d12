import { createHash } from 'node:crypto';
import pg from 'pg';
import { Chain, defaultRunner, Migrator } from '../harness/migrate/index.ts';
import { withClient, type PostgresServer } from '../harness/postgres/index.ts';
import { OLD_PREDICATE_SQL } from '../properties/routing-outcomes/domain.ts';
import { fileURLToPath } from 'node:url';

const MIGRATIONS = fileURLToPath(new URL('../migrations', import.meta.url));

/**
 * A staging database as the snapshot tests (and the benchmark) copy it: the project's chain
 * at 0030, the old predicate hand-applied (NOT VALID when some rows break it, as PROD's hotfix
 * was), and `rows` outcomes, each with its inference, of which `orphans` are final outcomes
 * of a router-chosen model with no inference (what 0031 refuses).
 */
export async function buildStagingSource(server: PostgresServer, database: string, rows: number, orphans: number): Promise<string> {
  await withClient(server.connectionConfig(server.maintenanceDatabase), (client) => client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`));
  const chain = await Chain.load(MIGRATIONS);
  const migrator = new Migrator(chain, defaultRunner(chain.format));
  await withClient(server.connectionConfig(database), async (client) => {
    const run = await migrator.migrateTo(client, '0030');
    if (run.error) throw run.error;
    await client.query(`
      INSERT INTO inferences (id, provider, model, status, http_status)
        SELECT md5('inference' || i)::uuid, 'openai', 'gpt-4o', CASE WHEN i % 10 = 0 THEN 'error' ELSE 'ok' END, CASE WHEN i % 10 = 0 THEN 502 ELSE 200 END
          FROM generate_series(1, $1::int) AS i;
      INSERT INTO routing_outcomes (id, request_id, decision_rule, chosen_model, chosen_provider, inference_id, outcome_status, attempts, completed_at)
        SELECT md5('outcome' || i)::uuid, 'req-' || i, CASE WHEN i % 3 = 0 THEN 'cheapest_clearing_floor' ELSE 'pinned' END, 'gpt-4o', 'openai',
               md5('inference' || i)::uuid, CASE WHEN i % 10 = 0 THEN 'provider_error' ELSE 'success' END, 1, now()
          FROM generate_series(1, $1::int - $2::int) AS i;
      INSERT INTO routing_outcomes (id, request_id, decision_rule, chosen_model, chosen_provider, inference_id, outcome_status, attempts, completed_at)
        SELECT md5('orphan' || i)::uuid, 'orphan-' || i, 'cheapest_clearing_floor', 'gpt-4o', 'openai', NULL, 'provider_error', 1, now()
          FROM generate_series(1, $2::int) AS i;`.replaceAll('$1::int', String(rows)).replaceAll('$2::int', String(orphans)));
    await client.query(orphans > 0 ? `${OLD_PREDICATE_SQL} NOT VALID` : OLD_PREDICATE_SQL);
  });
  return server.connectionUri(database);
}

/** The orphans' keys, as buildStagingSource makes them. */
export function orphanKeys(orphans: number): string[] {
  return Array.from({ length: orphans }, (_, i) => i + 1).map((i) => md5Uuid(`orphan${i}`)).sort();
}

function md5Uuid(text: string): string {

  const hex = createHash('md5').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
