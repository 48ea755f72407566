import { invalid, isPlainObject, pointerTo } from './invalid.ts';
import { assertPath } from './names.ts';

export interface SortKey {
  path: string;
  direction: 1 | -1;
}

const MAX_SORT_KEYS = 8;

/**
 * The port's `Sort` (`[[path, 1 | -1], …]`), validated and completed with the `_id`
 * tie-break: ascending `_id` is appended unless `_id` is already a key, and keys after
 * `_id` are dropped (it is unique, they could never decide anything). The result is a total
 * order, which keyset pagination needs.
 */
export function parseSort(sort: unknown, pointer = '/sort'): SortKey[] {
  if (sort === undefined) return [{ path: '_id', direction: 1 }];
  if (!Array.isArray(sort)) invalid(pointer, 'sort is an array of [path, 1 | -1] pairs');
  const keys = sort.map((entry, i): SortKey => {
    const at = pointerTo(pointer, i);
    if (!Array.isArray(entry) || entry.length !== 2) invalid(at, 'a sort key is a [path, 1 | -1] pair');
    return { path: assertPath(entry[0], pointerTo(at, 0)), direction: direction(entry[1], pointerTo(at, 1)) };
  });
  return withIdTieBreak(keys, pointer);
}

/** A pipeline's `{ $sort: { path: 1 | -1, … } }`, with the same `_id` tie-break. */
export function parseSortObject(sort: unknown, pointer: string): SortKey[] {
  if (!isPlainObject(sort) || Object.keys(sort).length === 0) invalid(pointer, '$sort takes an object of path: 1 | -1');
  const keys = Object.entries(sort).map(([path, dir]): SortKey => {
    const at = pointerTo(pointer, path);
    return { path: assertPath(path, at), direction: direction(dir, at) };
  });
  return withIdTieBreak(keys, pointer);
}

function direction(value: unknown, pointer: string): 1 | -1 {
  if (value !== 1 && value !== -1) invalid(pointer, 'a sort direction is 1 (ascending) or -1 (descending)');
  return value;
}

function withIdTieBreak(keys: SortKey[], pointer: string): SortKey[] {
  if (keys.length > MAX_SORT_KEYS) invalid(pointer, `at most ${MAX_SORT_KEYS} sort keys`);
  const seen = new Set<string>();
  for (const [i, key] of keys.entries()) {
    if (seen.has(key.path)) invalid(pointerTo(pointer, i), 'a path appears twice in the sort');
    seen.add(key.path);
  }
  const idAt = keys.findIndex((k) => k.path === '_id');
  return idAt >= 0 ? keys.slice(0, idAt + 1) : [...keys, { path: '_id', direction: 1 }];
}
