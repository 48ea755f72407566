import { invalid } from './invalid.ts';

/**
 * Dotted paths into nested objects: letters, digits and `_`, no leading digit, no array
 * indexes, no `$`. Adapters splice validated paths into SQL (`json_extract(doc, '$.a.b')`
 * must be a literal for SQLite to match it against an expression index) and into Mongo
 * filters, so this pattern is the whole defence against injection: keep it strict.
 */
export const PATH_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** Collection names become SQLite table names and MongoDB collection names: no dots, no `system.` prefixes. */
export const COLLECTION_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** Index names and output fields of `$group` and `$count`. */
export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

const MAX_PATH_LENGTH = 200;

export function isPath(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_PATH_LENGTH && PATH_PATTERN.test(value);
}

export function assertPath(value: unknown, pointer: string): string {
  if (!isPath(value)) {
    invalid(pointer, 'not a valid field path: dot-separated names of letters, digits and _, not starting with a digit');
  }
  return value;
}

export function assertCollectionName(value: unknown): string {
  if (typeof value !== 'string' || !COLLECTION_PATTERN.test(value)) {
    invalid('/collection', 'not a valid collection name: a letter, then up to 63 letters, digits or _');
  }
  return value;
}

export function assertName(value: unknown, pointer: string, what: string): string {
  if (typeof value !== 'string' || !NAME_PATTERN.test(value)) {
    invalid(pointer, `not a valid ${what}: a letter or _, then up to 63 letters, digits or _`);
  }
  return value;
}
