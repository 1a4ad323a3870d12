import { existsSync } from 'node:fs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { SetupError } from '../harness/errors.ts';
import { EmbeddedPostgresProvider, redactPasswords, ScratchDatabases, UrlPostgresProvider } from '../harness/postgres/index.ts';
import { sharedServer } from './helpers.ts';

describe('embedded PostgreSQL', () => {
  it('starts a real server on 127.0.0.1 with test settings, then stops it and removes its directory', async () => {
    const server = await new EmbeddedPostgresProvider().start();
    const config = server.connectionConfig('postgres');
    const client = new pg.Client(config);
    await client.connect();
    const settings = await client.query(
      "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'listen_addresses', 'data_directory') ORDER BY name",
    );
    await client.end();
    const byName = Object.fromEntries(settings.rows.map((row) => [row.name, row.setting]));
    expect(byName).toMatchObject({ fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', listen_addresses: '127.0.0.1' });
    expect(config.host).toBe('127.0.0.1');
    expect(server.describe()).not.toContain(String(config.password));
    expect(existsSync(byName.data_directory)).toBe(true);
    await server.stop();
    expect(existsSync(byName.data_directory)).toBe(false);
    await expect(new pg.Client(config).connect()).rejects.toThrow();
  });

  it('says in one line when the requested version is not installed', async () => {
    const error = await new EmbeddedPostgresProvider({ pgVersion: '9' }).start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SetupError);
    expect((error as Error).message).toMatch(/^no embedded PostgreSQL 9 binaries for \S+ \(installed: \d+/);
    expect((error as Error).message).not.toContain('\n');
  });
});

describe('an existing server by URL', () => {
  it('creates and drops only databases under its own prefix', async () => {
    const { server, databases } = await sharedServer();
    const other = new ScratchDatabases(server);
    const mine = await databases.create('mine');
    expect(mine.startsWith(databases.prefix)).toBe(true);
    expect(databases.prefix).toMatch(/^ch_[0-9a-f]{8}_$/);
    await expect(other.drop(mine)).rejects.toThrow(/refusing to touch database .* not created by this run/);
    await expect(databases.create('clone', 'postgres')).rejects.toThrow(/refusing to touch database "postgres"/);
    await databases.close();
    const client = new pg.Client(server.connectionConfig(server.maintenanceDatabase));
    await client.connect();
    const left = await client.query('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${databases.prefix}%`]);
    await client.end();
    expect(left.rows).toEqual([]);
    await other.close();
  });

  it('says in one line when the role may not create databases', async () => {
    const { server, databases } = await sharedServer();
    const admin = new pg.Client(server.connectionConfig(server.maintenanceDatabase));
    await admin.connect();
    await admin.query("DROP ROLE IF EXISTS ch_no_createdb; CREATE ROLE ch_no_createdb LOGIN PASSWORD 'pw-no-createdb' NOCREATEDB");
    try {
      const url = `postgres://ch_no_createdb:pw-no-createdb@${server.connectionConfig('x').host}:${server.connectionConfig('x').port}/postgres`;
      const limited = await new UrlPostgresProvider(url).start();
      const scratch = new ScratchDatabases(limited);
      const error = await scratch.create('nope').catch((e: unknown) => e);
      await scratch.close();
      expect(error).toBeInstanceOf(SetupError);
      expect((error as Error).message).toMatch(/^cannot create databases on postgres:\/\/ch_no_createdb:\*\*\*@.*: permission denied to create database \(the harness needs a role with CREATEDB\)$/);
    } finally {
      await admin.query('DROP ROLE ch_no_createdb');
      await admin.end();
      await databases.close();
    }
  });

  it('reports an unreachable server in one line without the password', async () => {
    const error = await new UrlPostgresProvider('postgres://app:s3cret-pw@127.0.0.1:1/appdb').start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SetupError);
    expect((error as Error).message).toMatch(/^cannot reach PostgreSQL at postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/appdb: /);
    expect((error as Error).message).not.toContain('s3cret-pw');
  });

  it('redacts passwords in any text', () => {
    expect(redactPasswords('failed: postgresql://u:p%40ss@h:5/db and postgres://x:y@z/w')).toBe('failed: postgresql://u:***@h:5/db and postgres://x:***@z/w');
  });
});
