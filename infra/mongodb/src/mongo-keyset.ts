import type { CursorPosition, Scalar, SortKey } from '@crm/read-query';
import { isScalar } from '@crm/read-query';
import type { StoredFilter } from './mongo-filter.ts';

/** A sort as MongoDB takes it: an object whose key order is the sort order (paths never look like array indexes, so JS keeps that order). */
export function sortSpec(keys: readonly SortKey[]): Record<string, 1 | -1> {
  return Object.fromEntries(keys.map((k) => [k.path, k.direction]));
}

/**
 * Documents strictly after a cursor position, as a `$or` of ranges, so a page is one
 * indexed query and never a skip. For key i: all earlier keys equal and key i past the
 * cursor value. MongoDB sorts null and missing lowest (first ascending, last descending),
 * hence the null cases.
 *
 * `$gt`/`$lt` only match values of the cursor value's type (type bracketing), so on a sort
 * key that mixes types (numbers and strings in one field) a walk would skip the other
 * type's documents. Read models keep one type per field; the embedded store has no such
 * limit, and the contract suite stays within one type per key.
 */
export function keysetFilter(keys: readonly SortKey[], after: CursorPosition): StoredFilter {
  const alternatives: StoredFilter[] = [];
  keys.forEach((key, i) => {
    const value = after.values[i] ?? null;
    const past = pastValue(key, value);
    if (!past) return;
    const equalBefore = keys.slice(0, i).map((k, j) => equalTo(k.path, after.values[j] ?? null));
    alternatives.push(equalBefore.length === 0 ? past : { $and: [...equalBefore, past] });
  });
  // Only reachable with no non-null key at all; `_id` (never null) ends every sort.
  return alternatives.length > 0 ? { $or: alternatives } : { _id: { $in: [] } };
}

function equalTo(path: string, value: Scalar): StoredFilter {
  return { [path]: { $eq: value } };
}

function pastValue(key: SortKey, value: Scalar): StoredFilter | undefined {
  if (value === null) return key.direction === 1 ? { [key.path]: { $ne: null } } : undefined;
  if (key.direction === 1) return { [key.path]: { $gt: value } };
  return { $or: [{ [key.path]: { $lt: value } }, { [key.path]: { $eq: null } }] };
}

/** The values of a document's sort keys, for the next page's cursor. */
export function positionOf(document: Record<string, unknown>, keys: readonly SortKey[]): CursorPosition {
  return {
    values: keys.map((key) => {
      const value = valueAt(document, key.path) ?? null;
      if (!isScalar(value)) {
        throw new Error(`Cannot page on ${key.path}: it holds an object or array; sort on a field that holds strings, numbers or booleans`);
      }
      return value;
    }),
  };
}

export function valueAt(document: Record<string, unknown>, path: string): unknown {
  let value: unknown = document;
  for (const step of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[step];
  }
  return value;
}
