import type { CursorPosition, SortKey } from '@crm/read-query';
import { valueOf, type Relation, type SqlParams } from './read-store-sql.ts';

/**
 * Sorting and keyset pagination on SQL values of `json_extract`, which an expression index
 * on the same path can serve.
 *
 * Order: SQLite's, NULL (JSON null and missing) < numbers < text, BINARY (byte-wise UTF-8,
 * as MongoDB's default) among strings. MongoDB agrees for these types. It differs across
 * other types, which the contract suite does not exercise: MongoDB sorts
 * null < numbers < strings < objects < arrays < booleans, while here booleans sort as the
 * numbers 0/1 and objects and arrays as their JSON text. The keyset predicate below uses the
 * very same expressions and comparisons as ORDER BY, so pagination stays exact whatever
 * the types.
 */
export function orderBySql(keys: readonly SortKey[], relation: Relation): string {
  return keys.map((k) => `${valueOf(k.path, relation)} ${k.direction === 1 ? 'ASC' : 'DESC'}`).join(', ');
}

/**
 * Rows strictly after `after` in that order: for some key i, all earlier keys equal and key
 * i past the cursor value. NULLs come first ascending and last descending (SQLite's rule,
 * and MongoDB's for null/missing), which the NULL cases spell out because `x > NULL` is
 * never true. The last key is `_id`, unique, so "strictly after" skips nothing and
 * repeats nothing.
 */
export function keysetSql(keys: readonly SortKey[], after: CursorPosition, params: SqlParams, relation: Relation): string {
  const alternatives = keys.map((key, i) => {
    const equalBefore = keys.slice(0, i).map((k, j) => equal(valueOf(k.path, relation), after.values[j] ?? null, params));
    return [...equalBefore, past(valueOf(key.path, relation), after.values[i] ?? null, key.direction, params)].join(' AND ');
  });
  return `(${alternatives.map((a) => `(${a})`).join(' OR ')})`;
}

function equal(expr: string, value: CursorPosition['values'][number], params: SqlParams): string {
  return value === null ? `${expr} IS NULL` : `${expr} = ${params.add(value)}`;
}

function past(expr: string, value: CursorPosition['values'][number], direction: 1 | -1, params: SqlParams): string {
  if (value === null) return direction === 1 ? `${expr} IS NOT NULL` : '0';
  return direction === 1 ? `${expr} > ${params.add(value)}` : `(${expr} < ${params.add(value)} OR ${expr} IS NULL)`;
}
