import { spawn } from 'node:child_process';
import { createReadStream, existsSync, openSync, readSync, closeSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { PassThrough, type Readable } from 'node:stream';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { SetupError, errorMessage } from '../errors.ts';
import { SqlScanner } from './sql-scanner.ts';

/** A pg_dump file: plain SQL, or pg_dump's custom format (`-Fc`, which starts with `PGDMP`). */
export interface DumpFile {
  file: string;
  format: 'plain' | 'custom';
  /** The major of the server it was dumped from, as its header says. */
  sourceMajor?: number;
}

/** What loading a dump did that a person should know: statements skipped, and why. */
export interface DumpLoad {
  rows: number;
  statements: number;
  skipped: string[];
  /** How the file was read: `plain SQL`, or `pg_restore <version> (custom format)`. */
  via: string;
}

/** Looks at a dump: its format and the major it was dumped from. */
export async function inspectDump(file: string, pgDump?: string): Promise<DumpFile> {
  if (!existsSync(file)) throw new SetupError(`--from-dump ${file}: no such file`);
  const head = Buffer.alloc(8192);
  const fd = openSync(file, 'r');
  const read = readSync(fd, head, 0, head.length, 0);
  closeSync(fd);
  const text = head.subarray(0, read).toString('latin1');
  if (text.startsWith('PGDMP')) {
    const listing = await runTool(restoreTool(pgDump), ['--list', file]).catch((error: unknown) => {
      throw new SetupError(`--from-dump ${file} is a custom-format dump: ${errorMessage(error)}`);
    });
    const major = /Dumped from database version: (\d+)/.exec(listing)?.[1];
    return { file, format: 'custom', ...(major ? { sourceMajor: Number(major) } : {}) };
  }
  if (!/^--\s*\n--\s*PostgreSQL database dump/m.test(text) && !/^(SET|CREATE|SELECT)\b/m.test(text)) {
    throw new SetupError(`--from-dump ${file} is neither a plain SQL dump nor a custom-format one (pg_dump -Fp or -Fc; a directory or tar dump: convert it with pg_restore -f FILE)`);
  }
  const major = /Dumped from database version (\d+)/.exec(text)?.[1];
  return { file, format: 'plain', ...(major ? { sourceMajor: Number(major) } : {}) };
}

/** pg_restore: beside the `--pg-dump` given, else on PATH. */
function restoreTool(pgDump?: string): string {
  return pgDump ? path.join(path.dirname(pgDump), 'pg_restore') : 'pg_restore';
}

/**
 * Loads a dump into the copy's database, as psql loads a plain dump: statement by statement,
 * `COPY … FROM stdin` blocks streamed as COPY. A custom-format dump is first turned into that
 * SQL by pg_restore (`-f -`, no database needed). psql's own commands (`\connect`,
 * `\restrict`) are skipped; so are, as psql would go on past them, settings the harness's
 * server does not know (a newer pg_dump's `SET transaction_timeout`) and ownership or grants
 * to roles it does not have. Any other failing statement stops the load (exit 2) with its line.
 */
export async function loadDump(client: pg.ClientBase, dump: DumpFile, pgDump?: string): Promise<DumpLoad> {
  const load: DumpLoad = { rows: 0, statements: 0, skipped: [], via: 'plain SQL' };
  let input: Readable;
  let finished: Promise<string> | undefined;
  if (dump.format === 'custom') {
    const tool = restoreTool(pgDump);
    const child = spawn(tool, ['--file=-', dump.file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    finished = new Promise((resolve, reject) => {
      child.on('error', (error) => reject(new SetupError(`${tool} is needed to read the custom-format dump ${dump.file}: ${error.message} (install PostgreSQL's client tools, or give --pg-dump PATH; a plain dump, pg_dump -Fp, needs no tool)`)));
      child.on('close', (code) => (code === 0 ? resolve(tool) : reject(new SetupError(`${tool} could not read ${dump.file}: ${stderr.trim().split('\n')[0]}`))));
    });
    finished.catch(() => undefined);
    input = child.stdout;
    load.via = `${tool} (custom format)`;
  } else {
    input = createReadStream(dump.file);
  }
  await executeScript(client, input, dump.file, load);
  if (finished) await finished;
  return load;
}

async function executeScript(client: pg.ClientBase, input: Readable, file: string, load: DumpLoad): Promise<void> {
  const scanner = new SqlScanner();
  let statement: string[] = [];
  let startLine = 0;
  let copy: { stream: ReturnType<typeof copyFrom>; input: PassThrough; done: Promise<void> } | undefined;
  let lineNumber = 0;
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    lineNumber++;
    if (copy) {
      if (line === '\\.') {
        copy.input.end();
        await copy.done;
        load.rows += copy.stream.rowCount;
        copy = undefined;
      } else if (!copy.input.write(line + '\n')) {
        await new Promise((resolve) => copy!.input.once('drain', resolve));
      }
      continue;
    }
    if (statement.length === 0) {
      if (line.trim() === '' || line.startsWith('--')) continue;
      if (line.startsWith('\\')) {
        if (!/^\\(restrict|unrestrict)\b/.test(line)) load.skipped.push(`line ${lineNumber}: psql command ${line.split(' ')[0]}`);
        continue;
      }
      startLine = lineNumber;
    }
    statement.push(line);
    if (!scanner.endsStatement(line)) continue;
    const sql = statement.join('\n');
    statement = [];
    if (/^COPY .* FROM stdin;$/s.test(sql)) {
      const stream = client.query(copyFrom(sql.slice(0, -1)));
      const feed = new PassThrough();
      const done = new Promise<void>((resolve, reject) => {
        stream.on('finish', resolve);
        stream.on('error', reject);
      }).catch((error: unknown) => {
        throw new SetupError(`${file}:${startLine}: ${errorMessage(error)} (in ${sql.slice(0, 80)})`);
      });
      feed.pipe(stream);
      copy = { stream, input: feed, done };
      continue;
    }
    await run(client, sql, `${file}:${startLine}`, load);
  }
  if (copy) throw new SetupError(`${file}: the dump ends inside a COPY block (a truncated file?)`);
  if (statement.join('').trim()) await run(client, statement.join('\n'), `${file}:${startLine}`, load);
}

async function run(client: pg.ClientBase, sql: string, where: string, load: DumpLoad): Promise<void> {
  try {
    await client.query(sql);
    load.statements++;
  } catch (error) {
    const code = (error as { code?: string }).code;
    const skippable = (code === '42704' && /^(SET|ALTER .* OWNER TO|GRANT|REVOKE|ALTER DEFAULT PRIVILEGES)\b/is.test(sql)) || (code === '42704' && /^SELECT pg_catalog\.set_config/.test(sql));
    if (skippable) {
      load.skipped.push(`${where}: ${sql.split('\n')[0]!.slice(0, 100)} (${errorMessage(error)})`);
      return;
    }
    throw new SetupError(`${where}: ${errorMessage(error)} (in ${sql.split('\n')[0]!.slice(0, 120)})`);
  }
}

/** Runs a client tool to its end; its stdout, or an error with the first line of its stderr. */
function runTool(tool: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', (error) => reject(new Error(`${tool} is needed and could not be run (${error.message}): install PostgreSQL's client tools, or give --pg-dump PATH`)));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${tool}: ${err.trim().split('\n')[0]}`))));
  });
}
