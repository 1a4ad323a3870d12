import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSqlParser } from '../harness/migrate/index.ts';
import { parseSync } from 'libpg-query';
import { snapshotCatalog } from '../harness/catalog/index.ts';
import { decideEquivalence, type Equivalence } from '../harness/mutate/equivalence.ts';
import type { ColumnFacts } from '../harness/mutate/value-domains.ts';
import type { Node } from '../harness/mutate/predicate-mutants.ts';
import type { ScratchDatabases } from '../harness/postgres/index.ts';
import { sharedServer } from './helpers.ts';

const SCHEMA = `
  CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
  CREATE TABLE t (
    qty int, n numeric, price numeric(10,2), d date, started_at timestamptz, finished_at timestamptz,
    status text, code varchar(2), id uuid, flag boolean, m mood, label text NOT NULL, body jsonb
  );`;

function predicate(sql: string): Node {
  const tree = parseSync(`SELECT 1 WHERE ${sql}`).stmts![0]!.stmt as unknown as { SelectStmt: { whereClause: Node } };
  return tree.SelectStmt.whereClause;
}

describe('equivalence of CHECK predicates: proven on the whole partition, or not claimed', () => {
  let databases: ScratchDatabases;
  let client: pg.Client;
  let columns: Map<string, ColumnFacts>;
  const decide = (original: string, mutated: string): Promise<Equivalence> => decideEquivalence(client, { original: predicate(original), mutated: predicate(mutated), columns });

  beforeAll(async () => {
    await loadSqlParser();
    let server;
    ({ server, databases } = await sharedServer());
    client = new pg.Client(server.connectionConfig(await databases.create('equivalence')));
    await client.connect();
    await client.query(SCHEMA);
    const catalog = await snapshotCatalog(client);
    columns = new Map(catalog.columns.filter((c) => c.table === 'public.t').map((c) => [c.name, { type: c.type, notNull: c.notNull }]));
  });
  afterAll(async () => {
    await client?.end();
    await databases?.close();
  });

  it.each([
    ['qty > 0 OR qty IS NULL', 'qty > 0', 'NULL > 0 is NULL, which a CHECK lets through'],
    ['finished_at IS NULL OR finished_at >= started_at', 'finished_at >= started_at', 'the same, for a column pair'],
    ['qty > 0', 'qty >= 1', 'no integer lies between 0 and 1'],
    ['price >= 0', 'price > -0.01', 'numeric(10,2) holds nothing between -0.01 and 0'],
    ["d > '2020-01-01'", "d >= '2020-01-02'", 'no date lies between two consecutive days'],
    ['qty BETWEEN 1 AND 10', 'qty >= 1 AND qty <= 10', 'BETWEEN is its two comparisons'],
    ['started_at < finished_at', 'NOT (started_at >= finished_at)', 'NOT of a comparison, NULLs included'],
    ["m > 'sad'", "m IN ('ok', 'happy')", 'an enum has its labels and no others'],
    ["status <> 'x' OR status IS NULL", "status IS DISTINCT FROM 'x' OR status IS NULL", 'the same rows pass'],
    ["label = 'a' OR label IS NULL", "label = 'a'", 'label is NOT NULL: a NULL never reaches the CHECK'],
    ["status IN ('a', 'b')", "status = ANY (ARRAY['a', 'b'])", 'pg_dump prints an IN list as = ANY (ARRAY[…])'],
  ])('%s ≡ %s: proven (%s)', async (original, mutated) => {
    const verdict = await decide(original, mutated);
    expect(verdict, JSON.stringify(verdict)).toMatchObject({ verdict: 'proven' });
  });

  it.each([
    ['finished_at IS NULL OR finished_at >= started_at', 'finished_at IS NULL OR finished_at <= started_at'],
    ['finished_at IS NULL OR finished_at >= started_at', 'finished_at IS NOT NULL OR finished_at >= started_at'],
    ['finished_at IS NULL OR finished_at >= started_at', 'NOT (finished_at IS NULL) OR finished_at >= started_at'],
    ['finished_at IS NULL OR finished_at >= started_at', 'finished_at = NULL OR finished_at >= started_at'],
    ['price >= 0', 'price > 0'],
    ['n >= 0', 'n > -0.01'],
    ['qty > 0', 'qty > 1'],
    ["status IN ('a', 'b')", "status IN ('a', 'b', 'c')"],
    ["status = ANY (ARRAY['a', 'b'])", "status = ANY (ARRAY['a', 'B'])"],
    ["code <> 'ab'", "code <> 'AB'"],
    ['flag', 'flag IS TRUE'],
    ["m > 'sad'", "m = 'happy'"],
  ])('%s ≢ %s: a row tells them apart', async (original, mutated) => {
    const verdict = await decide(original, mutated);
    expect(verdict, JSON.stringify(verdict)).toMatchObject({ verdict: 'differs', row: expect.any(String) });
  });

  it('outside the fragment nothing is ever called equivalent: a function, a regular expression, arithmetic, a cast of a column', async () => {
    for (const [original, mutated] of [
      ['length(status) > 3', 'length(status) > 3 OR status IS NULL'],
      ["status ~ '^[a-z]+$'", "status ~ '^[a-z]+$' OR status IS NULL"],
      ['qty + 1 > 1', 'qty > 0'],
      ["body ? 'k'", "body ? 'k' OR body IS NULL"],
    ] as const) {
      const verdict = await decide(original, mutated);
      expect(verdict.verdict, `${original} vs ${mutated}: ${JSON.stringify(verdict)}`).toBe('undecided');
      if (verdict.verdict === 'undecided') expect(verdict.why).toMatch(/outside the decided fragment|neither a column nor a constant/);
    }
  });

  it('a constant the column cannot hold exactly leaves it undecided, not proven', async () => {
    const verdict = await decide('qty > 0.5', 'qty >= 1');
    expect(verdict).toMatchObject({ verdict: 'undecided', why: expect.stringMatching(/not exactly a value of integer/) });
  });
});
