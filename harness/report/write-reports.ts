import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { redactPasswords } from '../postgres/index.ts';
import { formatJUnitReport } from './junit-report.ts';
import { formatMarkdownReport } from './markdown-report.ts';
import { formatSarifReport } from './sarif-report.ts';
import { packageVersion } from '../version.ts';
import type { VerifyReport } from '../verify/verify-report.ts';

/** Writes report.md, report.json, junit.xml and report.sarif (for GitHub code scanning) into a directory (created if needed). */
export async function writeReports(dir: string, report: VerifyReport): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: [string, string][] = [
    ['report.md', formatMarkdownReport(report)],
    ['report.json', JSON.stringify(report, null, 2) + '\n'],
    ['junit.xml', formatJUnitReport(report)],
    ['report.sarif', formatSarifReport(report, packageVersion())],
  ];
  for (const [name, content] of files) await writeFile(path.join(dir, name), redactPasswords(content));
  return files.map(([name]) => path.join(dir, name));
}
