import { readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SetupError } from '../errors.ts';
import type { Suite } from '../suite.ts';

// compiled into dist/, the suites are compiled beside it: the same layout, `.js` files
const EXTENSION = import.meta.url.endsWith('.js') ? '.js' : '.ts';
const PROPERTIES_DIR = fileURLToPath(new URL('../../properties', import.meta.url));

/** The suites are the folders of `properties/` that have a `suite` file exporting a Suite as default. */
export async function suiteNames(): Promise<string[]> {
  const entries = await readdir(PROPERTIES_DIR, { withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isDirectory() && existsSync(path.join(PROPERTIES_DIR, entry.name, `suite${EXTENSION}`))).map((entry) => entry.name).sort();
}

/** Loads a suite by folder name; without a name, the only suite there is. */
export async function loadSuite(name?: string): Promise<Suite<unknown>> {
  const names = await suiteNames();
  if (!name) {
    if (names.length !== 1) throw new SetupError(`choose a suite with --suite (available: ${names.join(', ') || 'none'})`);
    name = names[0]!;
  }
  if (!names.includes(name)) throw new SetupError(`unknown suite "${name}" (available: ${names.join(', ') || 'none'})`);
  const module = (await import(pathToFileURL(path.join(PROPERTIES_DIR, name, `suite${EXTENSION}`)).href)) as { default: Suite<unknown> };
  return module.default;
}
