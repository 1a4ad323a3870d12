import { SetupError } from '../errors.ts';
import { ContainerPostgresProvider } from './container-postgres-provider.ts';
import { EmbeddedPostgresProvider } from './embedded-postgres-provider.ts';
import type { PostgresProvider, ProviderName } from './postgres-server.ts';
import { UrlPostgresProvider } from './url-postgres-provider.ts';

export * from './postgres-server.ts';
export { ScratchDatabases } from './scratch-databases.ts';
export { connectClient, withClient } from './connect.ts';
export { EmbeddedPostgresProvider } from './embedded-postgres-provider.ts';
export { UrlPostgresProvider } from './url-postgres-provider.ts';
export { ContainerPostgresProvider, DEFAULT_CONTAINER_MAJOR } from './container-postgres-provider.ts';

export interface ProviderChoice {
  provider?: string;
  url?: string;
  pgVersion?: string;
  image?: string;
}

/** Turns command-line choices into a provider; `--url` or DATABASE_URL imply `url`. */
export function chooseProvider(choice: ProviderChoice, env: NodeJS.ProcessEnv = process.env): PostgresProvider {
  const url = choice.url ?? (choice.provider === undefined || choice.provider === 'url' ? env.DATABASE_URL : undefined);
  const name = (choice.provider ?? (url ? 'url' : choice.image ? 'container' : 'embedded')) as ProviderName;
  if (choice.image && name !== 'container') throw new SetupError('--image is for --provider container');
  if (choice.pgVersion && name === 'url') throw new SetupError('--pg-version picks the version of a server the harness starts; with --url the server is already running');
  switch (name) {
    case 'embedded':
      return new EmbeddedPostgresProvider({ pgVersion: choice.pgVersion });
    case 'url':
      if (!url) throw new SetupError('--provider url needs --url postgres://… or DATABASE_URL');
      return new UrlPostgresProvider(url);
    case 'container':
      return new ContainerPostgresProvider({ pgVersion: choice.pgVersion, image: choice.image });
    default:
      throw new SetupError(`unknown provider "${String(name)}" (expected embedded, container or url)`);
  }
}
