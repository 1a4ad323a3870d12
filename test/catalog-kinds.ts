import type pg from 'pg';
import { expect } from 'vitest';
import { diffCatalogs, formatCatalogDiff, snapshotCatalog, OBJECT_KINDS, type CatalogDifference } from '../harness/catalog/index.ts';
import { ScratchDatabases, withClient, type PostgresServer } from '../harness/postgres/index.ts';

/** One object of every kind the snapshot compares (an extension only where the server ships one). */
export const EVERY_KIND = `
  CREATE SCHEMA app;
  CREATE TABLE app.t (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text COLLATE "C", g int GENERATED ALWAYS AS (id * 2) STORED, p int);
  ALTER TABLE app.t ALTER COLUMN p SET STATISTICS 500;
  ALTER TABLE app.t ENABLE ROW LEVEL SECURITY;
  ALTER TABLE app.t REPLICA IDENTITY FULL;
  CREATE INDEX i ON app.t (v);
  CREATE UNLOGGED TABLE app.u (id int);
  CREATE TABLE app.parted (id int, k int) PARTITION BY RANGE (k);
  CREATE TABLE app.part1 PARTITION OF app.parted FOR VALUES FROM (0) TO (10);
  CREATE VIEW app.v AS SELECT id FROM app.t;
  CREATE MATERIALIZED VIEW app.mv AS SELECT id FROM app.t WITH NO DATA;
  CREATE SEQUENCE app.s INCREMENT 5;
  CREATE FUNCTION app.f(x int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT x';
  CREATE PROCEDURE app.pr() LANGUAGE sql AS 'SELECT 1';
  CREATE AGGREGATE app.agg(int) (sfunc = int4pl, stype = int);
  CREATE FUNCTION app.tf() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
  CREATE TRIGGER trg BEFORE INSERT ON app.t FOR EACH ROW EXECUTE FUNCTION app.tf();
  ALTER TABLE app.t DISABLE TRIGGER trg;
  CREATE FUNCTION app.etf() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;
  CREATE EVENT TRIGGER ch_kinds_evt ON ddl_command_end EXECUTE FUNCTION app.etf();
  CREATE RULE r AS ON DELETE TO app.u DO INSTEAD NOTHING;
  CREATE POLICY pol ON app.t USING (id > 0);
  CREATE TYPE app.e AS ENUM ('a', 'b');
  CREATE DOMAIN app.d AS int DEFAULT 1 NOT NULL CHECK (VALUE > 0);
  CREATE TYPE app.c AS (a int, b text);
  CREATE TYPE app.r AS RANGE (subtype = int4);
  CREATE COLLATION app.coll (provider = libc, locale = 'C');
  CREATE STATISTICS app.st ON id, p FROM app.t;
  CREATE OPERATOR app.=== (leftarg = int, rightarg = int, function = int4eq);
  CREATE CAST (app.c AS text) WITH INOUT;
  CREATE FOREIGN DATA WRAPPER ch_kinds_fdw;
  CREATE SERVER ch_kinds_srv FOREIGN DATA WRAPPER ch_kinds_fdw;
  CREATE FOREIGN TABLE app.ft (a int) SERVER ch_kinds_srv;
  CREATE PUBLICATION ch_kinds_pub FOR TABLE app.parted;
  GRANT USAGE ON SCHEMA app TO PUBLIC;
  GRANT SELECT ON app.t TO PUBLIC;
  GRANT SELECT (id) ON app.u TO PUBLIC;
  ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO PUBLIC;
  COMMENT ON TABLE app.t IS 'things';
  COMMENT ON COLUMN app.t.v IS 'the value';
  ALTER TABLE app.t ADD CONSTRAINT positive CHECK (id > 0);`;

/** A change to one object of each kind (and to a column, a constraint, an index). */
export const CHANGE_EACH = `
  CREATE SCHEMA app2;
  ALTER TABLE app.t REPLICA IDENTITY DEFAULT;
  ALTER TABLE app.t ALTER COLUMN p SET STATISTICS 100;
  ALTER TABLE app.t DROP CONSTRAINT positive;
  DROP INDEX app.i;
  CREATE OR REPLACE VIEW app.v AS SELECT id, v FROM app.t;
  ALTER MATERIALIZED VIEW app.mv SET (fillfactor = 50);
  ALTER SEQUENCE app.s INCREMENT 7;
  CREATE OR REPLACE FUNCTION app.f(x int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT x + 0';
  DROP AGGREGATE app.agg(int);
  ALTER TABLE app.t ENABLE TRIGGER trg;
  ALTER EVENT TRIGGER ch_kinds_evt DISABLE;
  DROP RULE r ON app.u;
  ALTER POLICY pol ON app.t USING (id > 1);
  ALTER TYPE app.e ADD VALUE 'c';
  ALTER DOMAIN app.d SET DEFAULT 2;
  ALTER TYPE app.c ADD ATTRIBUTE x int;
  DROP TYPE app.r;
  DROP COLLATION app.coll;
  DROP STATISTICS app.st;
  DROP OPERATOR app.=== (int, int);
  DROP CAST (app.c AS text);
  ALTER FOREIGN TABLE app.ft OPTIONS (ADD note 'x');
  ALTER SERVER ch_kinds_srv OPTIONS (ADD host 'h');
  ALTER PUBLICATION ch_kinds_pub ADD TABLE app.t;
  REVOKE SELECT ON app.t FROM PUBLIC;
  COMMENT ON TABLE app.t IS 'other things';`;

/**
 * Builds one object of every kind, snapshots, changes one of each, snapshots again: the kinds
 * the snapshot holds, and the kinds the diff names (an extension too, where one is available).
 */
export async function kindsSeenAndChanged(client: pg.ClientBase): Promise<{ seen: Set<string>; changed: Set<string>; expected: string[]; diff: CatalogDifference[] }> {
  const extension = (await client.query<{ name: string }>("SELECT name FROM pg_available_extensions WHERE name IN ('pg_trgm', 'citext', 'hstore', 'cube') ORDER BY name LIMIT 1")).rows[0]?.name;
  await client.query(EVERY_KIND + (extension ? `\nCREATE EXTENSION ${extension} SCHEMA app;` : ''));
  try {
    const before = await snapshotCatalog(client);
    // a second snapshot of an unchanged schema is equal: nothing in it is a counter or a clock
    if (diffCatalogs(before, await snapshotCatalog(client)).length > 0) throw new Error('two snapshots of one schema differ');
    await client.query(CHANGE_EACH + (extension ? `\nDROP EXTENSION ${extension};` : ''));
    const after = await snapshotCatalog(client);
    const diff = diffCatalogs(before, after);
    const expected = [...OBJECT_KINDS.filter((kind) => kind !== 'extension' || extension), 'column', 'constraint', 'index'];
    return { seen: new Set(before.objects.map((o) => o.kind)), changed: new Set(diff.map((d) => d.kind)), expected, diff };
  } finally {
    await client.query('DROP EVENT TRIGGER IF EXISTS ch_kinds_evt; DROP PUBLICATION IF EXISTS ch_kinds_pub');
  }
}

/** On a new database of `server`: the snapshot holds every kind, and the diff names a change to each. */
export async function expectEveryKind(server: PostgresServer): Promise<void> {
  const databases = new ScratchDatabases(server);
  try {
    const name = await databases.create('kinds');
    const { seen, changed, expected, diff } = await withClient(server.connectionConfig(name), kindsSeenAndChanged);
    expect([...seen].sort()).toEqual(expected.filter((k) => !['column', 'constraint', 'index'].includes(k)).sort());
    expect([...changed].sort(), formatCatalogDiff(diff).join('\n')).toEqual([...expected].sort());
  } finally {
    await databases.close();
  }
}
