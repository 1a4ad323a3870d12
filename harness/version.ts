import { readFileSync } from 'node:fs';

let version: string | undefined;

/** The harness's own version, from its package.json (in the source tree and in dist/ alike). */
export function packageVersion(): string {
  if (version) return version;
  for (const candidate of ['../package.json', '../../package.json']) {
    try {
      const parsed = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (parsed.name === 'constraint-harness' && parsed.version) return (version = parsed.version);
    } catch {
      // try the next place
    }
  }
  return (version = '0.0.0');
}
