#!/usr/bin/env node
// Entry point of the CLI: loads the TypeScript sources through tsx so that no build step
// stands between `npm ci` and a run.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../harness/cli/main.ts');
process.exitCode = await main(process.argv);
