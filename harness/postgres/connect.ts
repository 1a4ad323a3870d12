import pg from 'pg';

/**
 * A connected client whose asynchronous socket errors (a server stopped under it, a database
 * dropped with FORCE) surface on its next query instead of crashing the process.
 */
export async function connectClient(config: pg.ClientConfig): Promise<pg.Client> {
  const client = new pg.Client(config);
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Runs `work` on a fresh connection and always closes it. */
export async function withClient<T>(config: pg.ClientConfig, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connectClient(config);
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
