import type { FindOptions } from '@crm/core';
import { decodeCursor, queryFingerprint, type CursorPosition } from './cursor.ts';
import { parseFilter, type FilterNode } from './filter.ts';
import { invalid } from './invalid.ts';
import { assertCollectionName } from './names.ts';
import { parseSort, type SortKey } from './sort.ts';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

export interface FindQuery {
  collection: string;
  filter: FilterNode;
  /** Ends with `_id`: a total order. */
  sort: SortKey[];
  limit: number;
  /** Set when the caller passed a cursor: the page starts strictly after it. */
  after?: CursorPosition;
  /** For encoding the next page's cursor. */
  fingerprint: string;
}

/** Everything a `find` call says, validated; adapters only translate. */
export function parseFindQuery(collection: string, options: FindOptions = {}): FindQuery {
  const name = assertCollectionName(collection);
  const filter = parseFilter(options.filter);
  const sort = parseSort(options.sort);
  const fingerprint = queryFingerprint(name, filter, sort);
  const query: FindQuery = { collection: name, filter, sort, limit: parseLimit(options.limit), fingerprint };
  if (options.cursor !== undefined) query.after = decodeCursor(options.cursor, fingerprint, sort);
  return query;
}

/** Default 50; larger requests are capped at 1000, as the port promises; zero, negative or fractional sizes are refused. */
export function parseLimit(limit: unknown): number {
  if (limit === undefined) return DEFAULT_PAGE_SIZE;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) invalid('/limit', 'limit is a positive integer');
  return Math.min(limit, MAX_PAGE_SIZE);
}
