import type { SqlStatement } from '../migrate/index.ts';
import { at, type ConstraintKind, type ConstraintSite, type Path } from './constraint-sites.ts';
import { predicateMutations, show, type Node } from './predicate-mutants.ts';

export type MutantKind = ConstraintKind | 'deploy';

/** One change to one statement: its new parse tree (null: the statement removed), and what a person reads. */
export interface TreeEdit {
  kind: MutantKind;
  description: string;
  statement: SqlStatement;
  tree: Record<string, unknown> | null;
  /** A predicate changed (a CHECK's, a partial index's): both, for the equivalence question. */
  predicate?: PredicateChange;
  /** The change cannot matter when these columns are NOT NULL (NULLS NOT DISTINCT toggled): checked against the catalog. */
  mootIfNotNull?: { table: string; columns: string[] };
  /** The oldest PostgreSQL major that can run the change. */
  requiresMajor?: number;
  /** What a suite must do to tell it apart, asked of a survivor. */
  question?: string;
}

export interface PredicateChange {
  original: Node;
  mutated: Node;
  table?: string;
  domain?: string;
  /** CHECK: a row whose predicate is NULL passes. A partial index's WHERE: it is left out. */
  nullPasses: boolean;
}

const FK_ACTIONS: Record<string, string> = { a: 'NO ACTION', r: 'RESTRICT', c: 'CASCADE', n: 'SET NULL', d: 'SET DEFAULT' };

/**
 * The mutants of one constraint, by kind:
 * - CHECK: every predicate mutation; added NOT VALID; removed.
 * - UNIQUE / PRIMARY KEY: a key column dropped; another column of the table added to the key;
 *   NULLS NOT DISTINCT toggled; PRIMARY KEY made UNIQUE; a unique index made plain, its WHERE
 *   changed or removed; removed.
 * - FOREIGN KEY: ON DELETE and ON UPDATE changed to each other action; a column pair dropped;
 *   MATCH FULL ↔ SIMPLE (composite keys); NOT VALID; DEFERRABLE toggled; removed.
 * - NOT NULL: removed (the column constraint, SET NOT NULL, the named constraint).
 * - EXCLUDE: an element dropped; its WHERE changed or removed; removed.
 */
export function constraintMutations(site: ConstraintSite, columnsOf: (table: string) => string[] = () => []): TreeEdit[] {
  const fields = at(site.statement.tree, site.fields);
  const edits: TreeEdit[] = [];
  const push = (description: string, change: (fields: Record<string, unknown>) => void, extra: Partial<TreeEdit> = {}) => edits.push({ kind: site.kind, description, statement: site.statement, tree: changed(site, change), ...extra });
  const where = site.domain ? { domain: site.domain } : { table: site.table };
  const predicateOf = (key: string, nullPasses: boolean, what: string) => {
    const original = fields[key] as Node | undefined;
    if (!original) return;
    for (const mutation of predicateMutations(original)) {
      push(`${what}${mutation.description}`, (f) => (f[key] = mutation.expression), { predicate: { original, mutated: mutation.expression, ...where, nullPasses } });
    }
  };
  switch (site.kind) {
    case 'check':
      predicateOf('raw_expr', true, '');
      break;
    case 'unique':
    case 'primary key': {
      const index = 'indexParams' in fields;
      const keyList = index ? 'indexParams' : 'keys';
      // a column constraint (`email text UNIQUE`) or one USING INDEX names no key list of its own
      const listed = Array.isArray(fields[keyList]);
      const keys = listed ? (fields[keyList] as Node[]) : [];
      if (keys.length > 1) keys.forEach((key, i) => push(`drop key column ${keyName(key)} from ${site.label}`, (f) => (f[keyList] as Node[]).splice(i, 1), { question: `does any write make two rows that differ only in ${keyName(key)}?` }));
      if (site.kind === 'unique' && !(index && fields.unique === false)) {
        const distinct = fields.nulls_not_distinct === true;
        const columns = listed ? keys.map(keyName) : site.column ? [site.column] : [undefined];
        push(`NULLS NOT DISTINCT ${distinct ? 'removed from' : 'added to'} ${site.label}`, (f) => (f.nulls_not_distinct = !distinct), {
          requiresMajor: 15,
          question: 'does any write make two rows with NULL in the key?',
          ...(site.table && columns.every((c) => c !== undefined) ? { mootIfNotNull: { table: site.table, columns: columns as string[] } } : {}),
        });
      }
      // a column more in the key weakens it (rows that differ there no longer collide): the first other column of the table
      const other = index || !listed || !site.table ? undefined : columnsOf(site.table).find((column) => !keys.some((key) => keyName(key) === column));
      if (other) push(`key column ${other} added to ${site.label}`, (f) => (f[keyList] as Node[]).push({ String: { sval: other } }), { question: `does any write make two rows with the same key that differ in ${other}?` });
      if (site.kind === 'primary key') push(`PRIMARY KEY → UNIQUE in ${site.label}`, (f) => (f.contype = 'CONSTR_UNIQUE'), { question: 'does any write put NULL in the key?' });
      if (index) {
        push(`CREATE UNIQUE INDEX → CREATE INDEX (${site.label})`, (f) => (f.unique = false), { question: 'does any write make two rows with the same key?' });
        predicateOf('whereClause', false, 'in the partial index predicate: ');
        if (fields.whereClause) push(`the partial index's WHERE removed (${site.label})`, (f) => delete f.whereClause, { question: "does any write make two rows with the same key outside the index's WHERE?" });
      }
      break;
    }
    case 'foreign key': {
      for (const [key, word] of [['fk_del_action', 'ON DELETE'], ['fk_upd_action', 'ON UPDATE']] as const) {
        const current = String(fields[key] ?? 'a');
        const question = key === 'fk_del_action' ? 'does any write delete a row that is still referenced?' : 'does any write change the key of a row that is still referenced?';
        // a column list (ON DELETE SET NULL (a)) belongs to SET NULL and SET DEFAULT alone
        const setColumns = (f: Record<string, unknown>, action: string) => key === 'fk_del_action' && !['n', 'd'].includes(action) && delete f.fk_del_set_cols;
        for (const other of Object.keys(FK_ACTIONS).filter((a) => a !== current)) push(`${word} ${FK_ACTIONS[current]} → ${FK_ACTIONS[other]} in ${site.label}`, (f) => ((f[key] = other), setColumns(f, other)), { question });
      }
      const local = (fields.fk_attrs as Node[] | undefined) ?? [];
      const referenced = (fields.pk_attrs as Node[] | undefined) ?? [];
      if (local.length > 1 && referenced.length === local.length) {
        local.forEach((column, i) => push(`drop the column pair (${keyName(column)} → ${keyName(referenced[i]!)}) from ${site.label}`, (f) => {
          (f.fk_attrs as Node[]).splice(i, 1);
          (f.pk_attrs as Node[]).splice(i, 1);
        }, { question: `does any write reference a row that matches every column but ${keyName(column)}?` }));
        const full = fields.fk_matchtype === 'f';
        push(`MATCH ${full ? 'FULL → SIMPLE' : 'SIMPLE → FULL'} in ${site.label}`, (f) => (f.fk_matchtype = full ? 's' : 'f'), { question: 'does any write leave part of the reference NULL?' });
      }
      edits.push(...deferrability(site, fields));
      break;
    }
    case 'exclude': {
      const elements = (fields.exclusions as Node[] | undefined) ?? [];
      if (elements.length > 1) elements.forEach((_, i) => push(`drop exclusion element ${i + 1} from ${site.label}`, (f) => (f.exclusions as Node[]).splice(i, 1), { question: 'does any write make two rows that conflict on the other elements only?' }));
      predicateOf('where_clause', false, 'in the exclusion predicate: ');
      if (fields.where_clause) push(`the exclusion's WHERE removed (${site.label})`, (f) => delete f.where_clause, { question: "does any write make two conflicting rows outside the exclusion's WHERE?" });
      break;
    }
    case 'not null':
      break;
  }
  if (site.added && (site.kind === 'check' || site.kind === 'foreign key') && !fields.skip_validation) {
    push(`add ${site.name ?? site.label} NOT VALID`, (f) => Object.assign(f, { skip_validation: true, initially_valid: false }), { question: 'does any state hold rows that violate it before the migration?' });
  }
  const notNull = site.kind === 'not null';
  edits.push({
    kind: site.kind,
    description: notNull ? `${site.label}${site.column && !site.label.includes(site.column) ? ` on ${site.column}` : ''} removed` : `remove the constraint ${site.name ?? site.label}`,
    statement: site.statement,
    tree: removed(site),
    question: notNull ? `does any write put NULL in ${site.column ?? 'the column'}, or any state hold one?` : 'does any write, or any state, break the constraint?',
  });
  return edits;
}

function keyName(node: Node): string | undefined {
  if (node.String) return (node.String as { sval: string }).sval;
  const element = node.IndexElem as { name?: string; expr?: Node } | undefined;
  if (element?.name) return element.name;
  if (element?.expr) return show(element.expr);
  return undefined;
}

/** The statement's tree with the site's fields changed. */
function changed(site: ConstraintSite, change: (fields: Record<string, unknown>) => void): Record<string, unknown> {
  const tree = structuredClone(site.statement.tree!);
  change(at(tree, site.fields));
  return tree;
}

/** The statement's tree without the site (null: the statement does nothing else, and goes). */
function removed(site: ConstraintSite): Record<string, unknown> | null {
  if (site.removal === 'statement') return null;
  const tree = structuredClone(site.statement.tree!);
  (at(tree, site.removal.list) as unknown as unknown[]).splice(site.removal.index, 1 + attributesOf(site).length);
  return tree;
}

/**
 * A column constraint's DEFERRABLE and INITIALLY DEFERRED are nodes of their own that follow it
 * in the column's list (`REFERENCES a (id) DEFERRABLE`); a table constraint's are its fields.
 */
function attributesOf(site: ConstraintSite): string[] {
  if (site.removal === 'statement' || site.column === undefined) return [];
  const list = at(site.statement.tree, site.removal.list) as unknown as Node[];
  const attributes: string[] = [];
  for (const node of list.slice(site.removal.index + 1)) {
    const contype = String((node.Constraint as Record<string, unknown> | undefined)?.contype ?? '');
    if (!contype.startsWith('CONSTR_ATTR_')) break;
    attributes.push(contype);
  }
  return attributes;
}

/** DEFERRABLE toggled: a deferrable constraint made NOT DEFERRABLE (or INITIALLY DEFERRED), a non-deferrable one DEFERRABLE INITIALLY DEFERRED. */
function deferrability(site: ConstraintSite, fields: Record<string, unknown>): TreeEdit[] {
  const inColumn = attributesOf(site);
  const columnLevel = site.column !== undefined && site.removal !== 'statement';
  const deferrable = columnLevel ? inColumn.includes('CONSTR_ATTR_DEFERRABLE') : fields.deferrable === true;
  const deferred = columnLevel ? inColumn.includes('CONSTR_ATTR_DEFERRED') : fields.initdeferred === true;
  const set = (toDeferrable: boolean, toDeferred: boolean): Record<string, unknown> => {
    const tree = structuredClone(site.statement.tree!);
    if (!columnLevel) {
      Object.assign(at(tree, site.fields), { deferrable: toDeferrable, initdeferred: toDeferred });
      return tree;
    }
    const removal = site.removal as { list: Path; index: number };
    const attributes = [...(toDeferrable ? ['CONSTR_ATTR_DEFERRABLE'] : []), ...(toDeferred ? ['CONSTR_ATTR_DEFERRED'] : [])].map((contype) => ({ Constraint: { contype } }));
    (at(tree, removal.list) as unknown as unknown[]).splice(removal.index + 1, inColumn.length, ...attributes);
    return tree;
  };
  const edit = (description: string, tree: Record<string, unknown>, question: string): TreeEdit => ({ kind: site.kind, description: `${description} in ${site.label}`, statement: site.statement, tree, question });
  const mend = 'does any transaction make a reference dangle and mend it before COMMIT (or defer the check)?';
  if (!deferrable) return [edit('NOT DEFERRABLE → DEFERRABLE INITIALLY DEFERRED', set(true, true), 'does any transaction write a dangling reference, then go on before COMMIT?')];
  return [edit('DEFERRABLE → NOT DEFERRABLE', set(false, false), mend), ...(deferred ? [] : [edit('INITIALLY IMMEDIATE → INITIALLY DEFERRED', set(true, true), mend)])];
}

export type { Path };
