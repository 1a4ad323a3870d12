#!/usr/bin/env -S node --liftoff-only
// Entry point of the CLI. `npm ci` compiles the TypeScript sources into dist/ (the `prepare`
// script); while that build is up to date with harness/ and properties/, the compiled code
// runs (no TypeScript at start-up). After an edit, the sources run through tsx until the next
// `npm run build`, so a change is never hidden behind a stale build.
import { existsSync, readdirSync, statSync } from 'node:fs';
import v8 from 'node:v8';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

// PostgreSQL's parser (libpg-query) is a large WebAssembly module. By default V8 also compiles
// it with its optimising tier on background threads, which a short command then waits for at
// exit: measured here, a usage error took 1.1 s and 1.4 s of CPU with it, 0.65 s and 0.7 s with
// the baseline compiler alone (Node 24: 1.5 s against 0.64 s); a `verify --runs 100` run is as
// fast either way (27.5 vs 26.7 s). Node 20 takes the flag here; Node 22+ freezes V8's flags once
// it has started, so the shebang and the npm scripts pass `--liftoff-only` on the command line.
v8.setFlagsFromString('--liftoff-only');

const root = fileURLToPath(new URL('..', import.meta.url));
const stamp = path.join(root, 'dist', '.build-stamp');

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

function buildIsFresh() {
  if (!existsSync(stamp)) return false;
  const built = statSync(stamp).mtimeMs;
  return ['harness', 'properties'].every((dir) => newestSource(path.join(root, dir)) <= built);
}

let main;
if (process.env.CONSTRAINT_HARNESS_FROM_SOURCE !== '1' && buildIsFresh()) {
  ({ main } = await import('../dist/harness/cli/main.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../harness/cli/main.ts'));
}
process.exitCode = await main(process.argv);
