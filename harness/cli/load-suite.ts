import { readdir, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SetupError, errorMessage } from '../errors.ts';
import { isDeclaration, type Declaration } from '../derive/declaration.ts';
import type { Suite } from '../suite.ts';

// compiled into dist/, the suites are compiled beside it: the same layout, `.js` files
const EXTENSION = import.meta.url.endsWith('.js') ? '.js' : '.ts';
const PROPERTIES_DIR = fileURLToPath(new URL('../../properties', import.meta.url));
/** The file names a folder's suite or declaration may have, in the order they are looked for. */
export const CONFIG_FILES = ['constraint-harness.config.ts', 'constraint-harness.config.mts', 'constraint-harness.config.js', 'constraint-harness.config.mjs'];
const SUITE_FILES = ['suite.ts', 'suite.mts', 'suite.js', 'suite.mjs'];

/**
 * Where a run's suite comes from: a suite value (hand-written, in `properties/` or anywhere), a
 * declaration beside the user's migrations, or nothing but the chain (`--suite auto`).
 */
export type SuiteSource = { kind: 'suite'; suite: Suite<unknown> } | { kind: 'declaration'; declaration: Declaration; file: string } | { kind: 'auto' };

/** The suites are the folders of `properties/` that have a `suite` file exporting a Suite as default. */
export async function suiteNames(): Promise<string[]> {
  const entries = await readdir(PROPERTIES_DIR, { withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isDirectory() && existsSync(path.join(PROPERTIES_DIR, entry.name, `suite${EXTENSION}`))).map((entry) => entry.name).sort();
}

/**
 * `--suite`: `auto`; a path (a suite or declaration file, or a folder holding
 * `constraint-harness.config.ts` or `suite.ts`), anywhere; or the name of a folder under
 * `properties/`. Without it: the declaration in the current folder, else the only suite there is.
 */
export async function loadSuiteSource(spec?: string): Promise<SuiteSource> {
  if (spec === 'auto') return { kind: 'auto' };
  if (spec !== undefined && (spec.includes('/') || spec.includes(path.sep) || spec.startsWith('.') || /\.[cm]?[jt]s$/.test(spec) || (existsSync(spec) && !(await suiteNames()).includes(spec)))) return fromPath(path.resolve(spec));
  if (spec === undefined) {
    const here = CONFIG_FILES.map((name) => path.resolve(name)).find((file) => existsSync(file));
    if (here) return fromPath(here);
  }
  return { kind: 'suite', suite: await loadSuite(spec) };
}

/** Loads a suite by folder name under `properties/`; without a name, the only suite there is. */
export async function loadSuite(name?: string): Promise<Suite<unknown>> {
  if (name !== undefined && name !== 'auto' && (name.includes('/') || /\.[cm]?[jt]s$/.test(name))) {
    const source = await fromPath(path.resolve(name));
    if (source.kind === 'suite') return source.suite;
    throw new SetupError(`${name} is a declaration, not a suite: this command needs a suite`);
  }
  const names = await suiteNames();
  if (!name) {
    if (names.length !== 1) throw new SetupError(`choose a suite with --suite (available: ${names.join(', ') || 'none'}, auto, or a path)`);
    name = names[0]!;
  }
  if (!names.includes(name)) throw new SetupError(`unknown suite "${name}" (available: ${names.join(', ') || 'none'}; or --suite auto, or a path to a suite or constraint-harness.config.ts)`);
  const module = (await import(pathToFileURL(path.join(PROPERTIES_DIR, name, `suite${EXTENSION}`)).href)) as { default: Suite<unknown> };
  return module.default;
}

async function fromPath(target: string): Promise<SuiteSource> {
  const info = await stat(target).catch(() => undefined);
  if (!info) throw new SetupError(`--suite ${target}: no such file or folder`);
  const file = info.isDirectory() ? [...CONFIG_FILES, ...SUITE_FILES].map((name) => path.join(target, name)).find((candidate) => existsSync(candidate)) : target;
  if (!file) throw new SetupError(`--suite ${target}: the folder has none of ${[...CONFIG_FILES, ...SUITE_FILES].join(', ')}`);
  const value = await importUserModule(file);
  if (isDeclaration(value)) return { kind: 'declaration', declaration: value, file };
  // a suite's relative chain is beside its file, wherever the command runs from
  if (isSuite(value)) return { kind: 'suite', suite: path.isAbsolute(value.migrationsDir) ? value : { ...value, migrationsDir: path.resolve(path.dirname(file), value.migrationsDir) } };
  throw new SetupError(`${file}: its default export is neither a suite (defineSuite) nor a declaration (defineConfig)`);
}

/** A user's file, TypeScript or JavaScript, wherever it is (TypeScript through tsx, which the harness ships with). */
async function importUserModule(file: string): Promise<unknown> {
  try {
    if (/\.[cm]?ts$/.test(file)) {
      const { tsImport } = await import('tsx/esm/api');
      const module = (await tsImport(pathToFileURL(file).href, import.meta.url)) as { default?: unknown };
      return unwrap(module.default);
    }
    return unwrap(((await import(pathToFileURL(file).href)) as { default?: unknown }).default);
  } catch (error) {
    if (error instanceof SetupError) throw error;
    throw new SetupError(`${file} could not be loaded: ${errorMessage(error)}`);
  }
}

// tsx may wrap a module's default export once more (CommonJS interop)
function unwrap(value: unknown): unknown {
  return value && typeof value === 'object' && 'default' in value && !isSuite(value) && !isDeclaration(value) ? (value as { default: unknown }).default : value;
}

function isSuite(value: unknown): value is Suite<unknown> {
  return !!value && typeof value === 'object' && Array.isArray((value as Suite).states) && typeof (value as Suite).bind === 'function';
}
