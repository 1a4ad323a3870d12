import { Deparser } from 'pgsql-deparser';

/** A node of libpg-query's parse tree: `{ NodeType: { …fields } }`. */
export type Node = Record<string, unknown>;

/** One change to a CHECK predicate: what it is, and the predicate after it. */
export interface PredicateMutation {
  description: string;
  expression: Node;
}

const SWAPS: Record<string, string[]> = { '=': ['<>'], '<>': ['='], '!=': ['='], '<': ['<=', '>'], '<=': ['<', '>='], '>': ['>=', '<'], '>=': ['>', '<='] };

/**
 * Every mutant of a predicate that the classic operators make, each at every place it applies:
 * drop a disjunct or conjunct; OR ↔ AND; IS NULL ↔ IS NOT NULL; `=` ↔ `<>`, `<` ↔ `<=`, `<` ↔ `>`
 * and the like; each literal changed (another value; for text, other case too); a
 * sub-expression negated; the NULL-comparison traps (`x = NULL` for `x IS NULL`).
 */
export function predicateMutations(root: Node): PredicateMutation[] {
  const mutations: PredicateMutation[] = [];
  const at = (path: (string | number)[], replacement: Node, description: string) => mutations.push({ description, expression: replaced(root, path, replacement) });
  walk(root, [], (node, path) => {
    const [type, fields] = Object.entries(node)[0] as [string, Record<string, unknown>];
    const text = show(node);
    if (type === 'BoolExpr') {
      const args = fields.args as Node[];
      const op = fields.boolop as string;
      if (op === 'NOT_EXPR') at(path, args[0]!, `remove NOT from ${text}`);
      else {
        const word = op === 'OR_EXPR' ? 'disjunct' : 'conjunct';
        args.forEach((arg, i) => {
          const rest = args.filter((_, j) => j !== i);
          at(path, rest.length === 1 ? rest[0]! : { BoolExpr: { ...fields, args: rest } }, `drop ${word} ${show(arg)}`);
        });
        at(path, { BoolExpr: { ...fields, boolop: op === 'OR_EXPR' ? 'AND_EXPR' : 'OR_EXPR' } }, `${op === 'OR_EXPR' ? 'OR → AND' : 'AND → OR'} in ${text}`);
      }
    }
    if (type === 'NullTest') {
      const isNull = fields.nulltesttype === 'IS_NULL';
      at(path, { NullTest: { ...fields, nulltesttype: isNull ? 'IS_NOT_NULL' : 'IS_NULL' } }, `${isNull ? 'IS NULL → IS NOT NULL' : 'IS NOT NULL → IS NULL'} in ${text}`);
      const trap = { A_Expr: { kind: 'AEXPR_OP', name: [{ String: { sval: isNull ? '=' : '<>' } }], lexpr: fields.arg, rexpr: { A_Const: { isnull: true } } } };
      at(path, trap, `NULL comparison trap: ${show(trap)} for ${text}`);
    }
    if (type === 'A_Expr' && fields.kind === 'AEXPR_OP') {
      const op = ((fields.name as Node[])[0]!.String as { sval: string }).sval;
      for (const other of SWAPS[op] ?? []) at(path, { A_Expr: { ...fields, name: [{ String: { sval: other } }] } }, `${op} → ${other} in ${text}`);
    }
    if (type === 'A_Const') for (const [value, label] of otherLiterals(fields)) at(path, { A_Const: value }, `${text} → ${label}`);
    if (isCondition(type, fields) && path.length > 0) at(path, { BoolExpr: { boolop: 'NOT_EXPR', args: [node] } }, `negate ${text}`);
  });
  if (Object.keys(root)[0] && isCondition(Object.keys(root)[0]!, Object.values(root)[0] as Record<string, unknown>)) {
    mutations.push({ description: `negate the whole predicate`, expression: { BoolExpr: { boolop: 'NOT_EXPR', args: [root] } } });
  }
  // two mutations that write the same predicate are one mutant, and none is the original
  const seen = new Set<string>([show(root)]);
  return mutations.filter((mutation) => {
    const text = show(mutation.expression);
    if (seen.has(text)) return false;
    seen.add(text);
    return true;
  });
}

/** The literals a constant becomes: another value, and for text the same word in other case. */
function otherLiterals(fields: Record<string, unknown>): [Record<string, unknown>, string][] {
  if (fields.sval) {
    const value = (fields.sval as { sval: string }).sval;
    const upper = value.toUpperCase() === value ? value.toLowerCase() : value.toUpperCase();
    return [
      [{ sval: { sval: `${value}_other` } }, `'${value}_other'`],
      ...(upper !== value ? ([[{ sval: { sval: upper } }, `'${upper}'`]] as [Record<string, unknown>, string][]) : []),
    ];
  }
  if (fields.ival !== undefined) {
    const value = Number((fields.ival as { ival?: number }).ival ?? 0);
    return [[{ ival: { ival: value + 1 } }, String(value + 1)]];
  }
  if (fields.boolval !== undefined) {
    const value = Boolean((fields.boolval as { boolval?: boolean }).boolval);
    return [[{ boolval: { boolval: !value } }, String(!value)]];
  }
  return [];
}

function isCondition(type: string, fields: Record<string, unknown>): boolean {
  return type === 'NullTest' || type === 'BooleanTest' || (type === 'A_Expr' && fields.kind === 'AEXPR_OP' && String(((fields.name as Node[])[0]?.String as { sval?: string })?.sval) in SWAPS) || (type === 'BoolExpr' && fields.boolop !== 'NOT_EXPR');
}

/** Visits the expression nodes (not lists, not column references' innards). */
function walk(node: Node, path: (string | number)[], visit: (node: Node, path: (string | number)[]) => void): void {
  visit(node, path);
  const [type, fields] = Object.entries(node)[0] as [string, Record<string, unknown>];
  if (type === 'ColumnRef' || type === 'A_Const') return;
  for (const [key, value] of Object.entries(fields ?? {})) {
    if (Array.isArray(value)) value.forEach((child, i) => isNode(child) && walk(child, [...path, type, key, i], visit));
    else if (isNode(value)) walk(value, [...path, type, key], visit);
  }
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 1 && /^[A-Z]/.test(Object.keys(value)[0]!);
}

/** A copy of `root` with the node at `path` replaced. */
export function replaced(root: Node, path: (string | number)[], replacement: Node): Node {
  if (path.length === 0) return structuredClone(replacement);
  const copy = structuredClone(root) as Record<string, unknown>;
  let parent: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  parent[path[path.length - 1]!] = structuredClone(replacement);
  return copy;
}

/**
 * An expression as PostgreSQL's grammar writes it, on one line: printed without the pretty
 * printer, which would indent (change) the lines of a multi-line string literal.
 */
export function show(expression: Node): string {
  return Deparser.deparse(expression as never, { pretty: false }).trim();
}
