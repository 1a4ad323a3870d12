import pg from 'pg';

export interface ServerInfo {
  version: string;
  versionNum: number;
}

export interface ServerInfoOptions {
  /**
   * On a server the harness owns: give the superuser this password, stored with one SCRAM
   * iteration where PostgreSQL allows it (16+, `scram_iterations`). Every connection then
   * authenticates in microseconds instead of 4096 rounds of PBKDF2 on each side. The password
   * is random and the server listens on loopback only.
   */
  newPassword?: string;
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
    if (options.newPassword !== undefined) {
      const cheap = info.versionNum >= 160000 ? 'SET scram_iterations = 1; ' : '';
      await client.query(`${cheap}ALTER ROLE CURRENT_USER PASSWORD ${pg.escapeLiteral(options.newPassword)}`);
    }
    return info;
  } finally {
    await client.end();
  }
}
