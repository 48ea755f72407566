import type { Scalar } from '@crm/read-query';

/**
 * Named parameters for generated SQL. Values always travel as parameters; only validated
 * paths (see PATH_PATTERN in @crm/read-query) and constants chosen here are spliced into
 * the text. Named, because nested stages are generated inside out, not in text order.
 */
export class SqlParams {
  readonly values: Record<string, string | number | null> = {};
  private next = 0;

  /** Binds a scalar. better-sqlite3 cannot bind booleans; JSON booleans read back as 1 and 0 through json_extract, so that is what they compare to. */
  add(value: Scalar): string {
    const name = `p${this.next++}`;
    this.values[name] = typeof value === 'boolean' ? Number(value) : value;
    return `@${name}`;
  }
}

/**
 * Where a relation keeps a path. The stored documents carry `_id` both inside the JSON and
 * as the primary-key column; the column is used where it exists so lookups, ranges and the
 * tie-break use its index. Documents made by `$group` or `$count` only have the JSON.
 */
export interface Relation {
  idColumn: boolean;
}

/** The SQL value: json_extract gives TEXT, INTEGER, REAL or NULL (JSON null and missing alike); booleans come out as 1/0, objects and arrays as JSON text. */
export function valueOf(path: string, relation: Relation): string {
  return path === '_id' && relation.idColumn ? '_id' : `json_extract(doc, '$.${path}')`;
}

/** The JSON type ('text', 'integer', 'real', 'true', 'false', 'null', 'object', 'array'), NULL when missing. */
export function typeOf(path: string, relation: Relation): string {
  return path === '_id' && relation.idColumn ? `'text'` : `json_type(doc, '$.${path}')`;
}

export const NUMERIC = `('integer', 'real')`;
