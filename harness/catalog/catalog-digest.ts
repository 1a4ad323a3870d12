import type pg from 'pg';

const USER = (schema: string) => `${schema} NOT IN ('pg_catalog', 'information_schema') AND ${schema} !~ '^pg_(toast|temp)'`;

/**
 * One text per object of the user's schemas, as PostgreSQL prints it, names instead of oids:
 * schemas, relations (tables, views, sequences, indexes, types), columns with types, defaults
 * and identity, every constraint (NOT NULL included), indexes, triggers, functions (their
 * source), types and enum labels, views, rules, policies, sequences and their values,
 * extensions. Two databases with the same digest have the same schema in every respect a
 * migration can touch, far beyond what the convergence diff compares. Objects a user creates
 * have oids from 16384 on (FirstNormalObjectId; initdb's are below): each catalog is filtered by
 * that first, an index range scan, before the schema names are looked at (the schemas
 * themselves are not: `public` is initdb's).
 */
const SEQUENCE_VALUE = 's.last_value';
const DIGEST = `
  SELECT md5(coalesce(string_agg(x, E'\\n' ORDER BY x), '')) AS digest FROM (
    SELECT 'schema ' || n.nspname FROM pg_namespace n WHERE ${USER('n.nspname')}
    UNION ALL SELECT format('relation %s %s %s %s', c.oid::regclass, c.relkind, c.relpersistence, c.reloptions) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid >= 16384 AND ${USER('n.nspname')}
    UNION ALL SELECT format('column %s.%s %s %s %s %s %s %s', a.attrelid::regclass, a.attname, format_type(a.atttypid, a.atttypmod), a.attnum, a.attnotnull, a.attisdropped, a.attidentity, a.attgenerated) || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid >= 16384 AND a.attnum > 0 AND ${USER('n.nspname')}
    UNION ALL SELECT format('constraint %s %s %s %s %s %s', k.conrelid::regclass, k.conname, pg_get_constraintdef(k.oid), k.convalidated, k.condeferrable, k.condeferred) FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace WHERE k.oid >= 16384 AND ${USER('n.nspname')}
    UNION ALL SELECT format('index %s %s %s', pg_get_indexdef(x.indexrelid), x.indisvalid, x.indisready) FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE x.indexrelid >= 16384 AND ${USER('n.nspname')}
    UNION ALL SELECT format('trigger %s %s %s', t.tgrelid::regclass, pg_get_triggerdef(t.oid), t.tgenabled) FROM pg_trigger t WHERE t.oid >= 16384 AND NOT t.tgisinternal AND t.tgrelid IN (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid >= 16384 AND ${USER('n.nspname')})
    UNION ALL SELECT format('function %s %s %s %s', p.oid::regprocedure, md5(coalesce(p.prosrc, '')), p.provolatile, p.prosecdef) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.oid >= 16384 AND ${USER('n.nspname')}
    UNION ALL SELECT format('type %s %s', t.oid::regtype, t.typtype) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.oid >= 16384 AND ${USER('n.nspname')}
    UNION ALL SELECT format('label %s %s %s', e.enumtypid::regtype, e.enumsortorder, e.enumlabel) FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid JOIN pg_namespace n ON n.oid = t.typnamespace WHERE e.enumtypid >= 16384 AND ${USER('n.nspname')}
    UNION ALL SELECT format('rule %s %s %s', r.ev_class::regclass, r.rulename, md5(pg_get_ruledef(r.oid))) FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace WHERE r.oid >= 16384 AND ${USER('n.nspname')}
    UNION ALL SELECT format('policy %s %s %s %s %s', p.polrelid::regclass, p.polname, p.polcmd, pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)) FROM pg_policy p
    UNION ALL SELECT format('sequence %s %s %s', s.schemaname || '.' || s.sequencename, ${SEQUENCE_VALUE}, s.increment_by) FROM pg_sequences s WHERE ${USER('s.schemaname')}
    UNION ALL SELECT format('extension %s %s', e.extname, e.extversion) FROM pg_extension e
  ) objects(x)`;

/** The digest of the user's schema: equal digests, equal schemas (see DIGEST). */
export async function catalogDigest(client: pg.ClientBase): Promise<string> {
  return (await client.query<{ digest: string }>({ name: 'ch_catalog_digest_v2', text: DIGEST })).rows[0]!.digest;
}

/** The same, with each sequence's value left out: the schema alone (what a catalog snapshot reads). */
const SCHEMA_DIGEST = DIGEST.replace(SEQUENCE_VALUE, 'NULL');

/** The digest of the user's schema without the sequences' values (a run's inserts advance them; the schema is the same). */
export async function schemaDigest(client: pg.ClientBase): Promise<string> {
  return (await client.query<{ digest: string }>({ name: 'ch_schema_digest', text: SCHEMA_DIGEST })).rows[0]!.digest;
}

/** The mark in the error a digest guard raises. */
export const CATALOG_CHANGED = 'ch_catalog_changed';

/**
 * A statement that fails (22P02, its message naming CATALOG_CHANGED) unless the user's schema
 * has the digest `expected` (see schemaDigest): at the head of a transaction planned from that schema, it makes the
 * transaction do nothing on any other (the failing cast depends on the row, so that the planner
 * cannot fold it in advance).
 */
export function catalogDigestGuard(expected: string): pg.QueryConfig {
  return { name: 'ch_catalog_digest_guard', text: `SELECT CASE WHEN d.digest = $1 THEN 1 ELSE (d.digest || ' ${CATALOG_CHANGED}')::int END FROM (${SCHEMA_DIGEST}) AS d`, values: [expected] };
}
