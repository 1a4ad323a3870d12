import pg from 'pg';

export interface ServerInfo {
  version: string;
  versionNum: number;
}

export async function readServerInfo(config: pg.ClientConfig): Promise<ServerInfo> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    const result = await client.query<{ server_version: string; server_version_num: string }>(
      "SELECT current_setting('server_version') AS server_version, current_setting('server_version_num') AS server_version_num",
    );
    const row = result.rows[0]!;
    return { version: row.server_version.split(' ')[0]!, versionNum: Number(row.server_version_num) };
  } finally {
    await client.end();
  }
}
