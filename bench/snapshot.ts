import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EmbeddedPostgresProvider } from '../harness/postgres/index.ts';
import { buildStagingSource } from '../test/snapshot-source.ts';
import type { BenchLine } from './measure.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(ROOT, 'bin/constraint-harness.js');
const ROWS = Number(process.env.BENCH_SNAPSHOT_ROWS ?? 500_000);

/**
 * `verify --from-db` as a user runs it (issue 19): a source of its own (embedded PostgreSQL 14,
 * the chain at 0030, the old predicate hand-applied, ROWS inferences and ROWS outcomes: 1,000,000
 * rows by default), the command line with its own embedded 18, timed from its start to the line
 * that says the first property started (target < 30 s).
 */
export async function benchSnapshot(): Promise<BenchLine[]> {
  const source = await new EmbeddedPostgresProvider({ pgVersion: '14' }).start();
  try {
    const url = await buildStagingSource(source, 'staging_bench', ROWS, 0);
    const started = performance.now();
    const { firstProperty, copied, code } = await new Promise<{ firstProperty?: number; copied?: string; code: number | null }>((resolve) => {
      const child = spawn(process.execPath, ['--liftoff-only', BIN, 'verify', '--from-db', url, '--states', 'snapshot', '--group', 'migration', '--seed', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let firstProperty: number | undefined;
      let out = '';
      child.stderr.on('data', (chunk: Buffer) => {
        if (firstProperty === undefined && /snapshot \/ .*started/.test(chunk.toString())) firstProperty = performance.now() - started;
      });
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.on('close', (code) => resolve({ firstProperty, copied: /READ ONLY transaction: (\d+ row\(s\) of \d+ table\(s\) in \d+ ms)/.exec(out)?.[1], code }));
    });
    return [
      { name: `verify --from-db over ${2 * ROWS} rows: to the first property`, value: (firstProperty ?? Number.NaN) / 1000, unit: 's', note: `copy ${copied ?? '?'}; exit ${code}; target < 30 s` },
      { name: `verify --from-db over ${2 * ROWS} rows: whole run (migration group)`, value: (performance.now() - started) / 1000, unit: 's', note: 'embedded server start and stop included' },
    ];
  } finally {
    await source.stop();
  }
}
