import { execFileSync } from 'node:child_process';
import { ContainerPostgresProvider, EmbeddedPostgresProvider, type PostgresProvider } from '../harness/postgres/index.ts';
import { median, type BenchLine } from './measure.ts';

/**
 * Issue 5's figures: from asking a provider for a server to the first query answered
 * (`start()` ends with one), per provider and PostgreSQL version. The container line is
 * measured only where a Docker engine answers and the local image exists
 * (.ci/postgres-image/build.sh); it says so when it is not.
 */
export async function benchProviders(rounds = 3): Promise<BenchLine[]> {
  const lines: BenchLine[] = [];
  for (const major of ['18', '14']) lines.push(await timeStart(`embedded PostgreSQL ${major}: start to first query`, () => new EmbeddedPostgresProvider({ pgVersion: major }), rounds));
  const image = 'constraint-harness/postgres:15';
  if (dockerHasImage(image)) {
    process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
    lines.push(await timeStart(`container ${image}: start to first query`, () => new ContainerPostgresProvider({ image }), rounds));
  } else {
    lines.push({ name: `container ${image}: not measured (no Docker engine or no local image)`, value: Number.NaN, unit: '' });
  }
  return lines;
}

async function timeStart(name: string, provider: () => PostgresProvider, rounds: number): Promise<BenchLine> {
  const times: number[] = [];
  let version = '';
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    const server = await provider().start();
    times.push(performance.now() - started);
    version = server.version;
    await server.stop();
  }
  return { name: `${name} (${version})`, value: median(times), unit: 'ms', note: `median of ${rounds}: ${times.map(Math.round).join(', ')}` };
}

function dockerHasImage(image: string): boolean {
  try {
    execFileSync('docker', ['image', 'inspect', image], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}
