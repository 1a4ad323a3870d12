import { loadModule, parseSync, hasSqlDetails } from 'libpg-query';

/** One top-level SQL statement of a migration file, with where it starts. */
export interface SqlStatement {
  sql: string;
  /** 1-based line in the file where the statement starts. */
  line: number;
  /** Character offset of the statement in the text it was split from. */
  offset: number;
  /** The parse-tree node type, e.g. `AlterTableStmt`, `TransactionStmt`. */
  kind: string;
  /** For TransactionStmt: `TRANS_STMT_BEGIN`, `TRANS_STMT_COMMIT`…; otherwise undefined. */
  transactionKind?: string;
  /** PostgreSQL refuses to run it inside a transaction block (CREATE INDEX CONCURRENTLY, VACUUM…). */
  outsideTransaction: boolean;
  /** The statement's parse tree (libpg-query JSON), for tools that read it. */
  tree?: Record<string, unknown>;
}

let loaded: Promise<void> | undefined;

/** Loads PostgreSQL's own parser (libpg_query, compiled to WebAssembly). */
export function loadSqlParser(): Promise<void> {
  loaded ??= loadModule();
  return loaded;
}

export class SqlSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

/**
 * Splits SQL text into top-level statements with the real PostgreSQL parser, so that
 * semicolons inside strings, dollar quotes and function bodies are handled exactly as the
 * server would. `loadSqlParser()` must have resolved first.
 */
export function splitStatements(text: string, lineOffset = 0): SqlStatement[] {
  const bytes = Buffer.from(text, 'utf8');
  let parsed;
  try {
    parsed = parseSync(text);
  } catch (error) {
    const position = hasSqlDetails(error) ? (error.sqlDetails?.cursorPosition ?? 0) : 0;
    throw new SqlSyntaxError(error instanceof Error ? error.message : String(error), lineOffset + lineAt(text, position));
  }
  return (parsed.stmts ?? []).map((raw) => {
    const start = raw.stmt_location ?? 0;
    const end = raw.stmt_len ? start + raw.stmt_len : bytes.length;
    const original = bytes.subarray(start, end).toString('utf8');
    const sql = original.trim();
    const node = raw.stmt as unknown as Record<string, Record<string, unknown>>;
    const kind = Object.keys(node)[0] ?? 'Unknown';
    const leading = bytes.subarray(0, start).toString('utf8');
    return {
      sql,
      line: lineOffset + leading.split('\n').length + (sql.length === 0 ? 0 : leadingBlankLines(original)),
      offset: leading.length + original.length - original.trimStart().length,
      kind,
      transactionKind: kind === 'TransactionStmt' ? String(node[kind]?.kind) : undefined,
      outsideTransaction: mustRunOutsideTransaction(kind, node[kind] ?? {}),
      tree: node,
    };
  });
}

/** The statements PostgreSQL refuses inside a transaction block ("cannot run inside a transaction block"). */
function mustRunOutsideTransaction(kind: string, node: Record<string, unknown>): boolean {
  switch (kind) {
    case 'IndexStmt':
    case 'DropStmt':
      return node.concurrent === true;
    case 'ReindexStmt':
      return JSON.stringify(node.params ?? []).includes('"concurrently"');
    case 'VacuumStmt':
    case 'CreatedbStmt':
    case 'DropdbStmt':
    case 'AlterSystemStmt':
    case 'CreateTableSpaceStmt':
    case 'DropTableSpaceStmt':
    case 'CreateSubscriptionStmt':
    case 'DropSubscriptionStmt':
      return true;
    case 'ClusterStmt':
      return node.relation === undefined;
    default:
      return false;
  }
}

export function leadingBlankLines(text: string): number {
  return /^\s*/.exec(text)![0].split('\n').length - 1;
}

function lineAt(text: string, charPosition: number): number {
  return text.slice(0, Math.max(0, charPosition)).split('\n').length;
}

/** A statement flattened to one line (and shortened) for messages. */
export function oneLine(sql: string, max = 300): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > max ? flat.slice(0, max - 3) + '...' : flat;
}
