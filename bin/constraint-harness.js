#!/usr/bin/env node
// Entry point of the CLI. `npm ci` compiles the TypeScript sources into dist/ (the `prepare`
// script); while that build is up to date with harness/ and properties/, the compiled code
// runs (no TypeScript at start-up). After an edit, the sources run through tsx until the next
// `npm run build`, so a change is never hidden behind a stale build.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

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
