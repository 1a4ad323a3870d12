import pg from 'pg';

export interface ServerInfo {
  version: string;
  versionNum: number;
}

export interface ServerInfoOptions {
  /**
   * On a server the harness owns: store this password again with one SCRAM iteration
   * (PostgreSQL 16+, `scram_iterations`). Every connection then authenticates in microseconds
   * instead of the default 4096 rounds of PBKDF2 on each side; a live deploy opens several
   * connections per run. The password stays random and the server stays on loopback.
   */
  cheapAuthenticationFor?: string;
}

export async function readServerInfo(config: pg.ClientConfig, options: ServerInfoOptions = {}): Promise<ServerInfo> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    const result = await client.query<{ server_version: string; server_version_num: string }>(
      "SELECT current_setting('server_version') AS server_version, current_setting('server_version_num') AS server_version_num",
    );
    const row = result.rows[0]!;
    const info = { version: row.server_version.split(' ')[0]!, versionNum: Number(row.server_version_num) };
    if (options.cheapAuthenticationFor !== undefined && info.versionNum >= 160000) {
      await client.query(`SET scram_iterations = 1; ALTER ROLE CURRENT_USER PASSWORD ${pg.escapeLiteral(options.cheapAuthenticationFor)}`);
    }
    return info;
  } finally {
    await client.end();
  }
}
