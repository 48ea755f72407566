import type { FilterNode, Scalar } from '@crm/read-query';
import { NUMERIC, typeOf, valueOf, type Relation, type SqlParams } from './read-store-sql.ts';

/**
 * A parsed filter as an SQL condition over `doc` (JSON text) with MongoDB's semantics for
 * scalars:
 * - every comparison is guarded by the JSON type of the operand ("type bracketing"): a
 *   number never equals or exceeds a string, `true` is not the number 1, an object's JSON
 *   text is not a string;
 * - null and missing are the same for equality (`{a: null}` matches both, as in MongoDB);
 * - positive conditions may evaluate to NULL (SQL's unknown), which WHERE, AND and OR treat
 *   as false; the only negations, `$ne` and `$nin`, use `IS NOT 1`, so unknown counts as
 *   "not equal" and a missing field matches, as in MongoDB.
 * Differences from MongoDB, which the contract suite does not exercise: a path that holds
 * an array is compared as one JSON value (MongoDB matches any element), and a dotted path
 * does not reach into arrays of objects.
 */
export function filterSql(node: FilterNode, params: SqlParams, relation: Relation): string {
  const v = (path: string) => valueOf(path, relation);
  const t = (path: string) => typeOf(path, relation);

  const equals = (path: string, value: Scalar): string => {
    if (value === null) return `${v(path)} IS NULL`;
    if (typeof value === 'boolean') return `(${t(path)} = '${value}' AND ${v(path)} = ${value ? 1 : 0})`;
    return `(${t(path)} ${typeof value === 'string' ? `= 'text'` : `IN ${NUMERIC}`} AND ${v(path)} = ${params.add(value)})`;
  };

  /** One IN list per JSON type, so an index on the path still serves a long `$in`. */
  const inList = (path: string, values: readonly Scalar[]): string => {
    const strings = values.filter((x): x is string => typeof x === 'string');
    const numbers = values.filter((x): x is number => typeof x === 'number');
    const parts: string[] = [];
    if (strings.length > 0) parts.push(`(${t(path)} = 'text' AND ${v(path)} IN (${strings.map((x) => params.add(x)).join(', ')}))`);
    if (numbers.length > 0) parts.push(`(${t(path)} IN ${NUMERIC} AND ${v(path)} IN (${numbers.map((x) => params.add(x)).join(', ')}))`);
    for (const b of new Set(values.filter((x): x is boolean => typeof x === 'boolean'))) parts.push(equals(path, b));
    if (values.includes(null)) parts.push(equals(path, null));
    return parts.length === 0 ? '0' : `(${parts.join(' OR ')})`;
  };

  const visit = (n: FilterNode): string => {
    switch (n.kind) {
      case 'and':
        return n.nodes.length === 0 ? '1' : `(${n.nodes.map(visit).join(' AND ')})`;
      case 'or':
        return `(${n.nodes.map(visit).join(' OR ')})`;
      case 'eq':
        return equals(n.path, n.value);
      case 'ne':
        return `((${equals(n.path, n.value)}) IS NOT 1)`;
      case 'gt':
      case 'gte':
      case 'lt':
      case 'lte': {
        const guard = typeof n.value === 'string' ? `= 'text'` : `IN ${NUMERIC}`;
        return `(${t(n.path)} ${guard} AND ${v(n.path)} ${RANGE_SQL[n.kind]} ${params.add(n.value)})`;
      }
      case 'in':
        return inList(n.path, n.values);
      case 'nin':
        return `(${inList(n.path, n.values)} IS NOT 1)`;
      case 'exists':
        return `(${t(n.path)} IS ${n.exists ? 'NOT NULL' : 'NULL'})`;
    }
  };

  return visit(node);
}

const RANGE_SQL = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;
