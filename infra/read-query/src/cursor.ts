import { createHash } from 'node:crypto';
import type { FilterNode, Scalar } from './filter.ts';
import { isScalar } from './filter.ts';
import { invalid, isPlainObject } from './invalid.ts';
import type { SortKey } from './sort.ts';

/**
 * Keyset cursors: the sort values (the last one is `_id`) of the last document of a page.
 * The next page starts strictly after that position, so documents inserted or deleted
 * between pages never shift the walk: nothing is skipped or repeated (an insert behind
 * the cursor is simply not seen).
 *
 * Encoding: base64url of `{"v":1,"q":<query fingerprint>,"k":[values…]}`. Opaque to
 * callers but not secret: it holds sort values, which are fields the caller may sort on
 * and so may see. Decoding is strict because a cursor comes back from the client.
 */
export interface CursorPosition {
  /** One value per sort key, `_id` last. */
  values: Scalar[];
}

const VERSION = 1;
const MAX_CURSOR_LENGTH = 4096;

/** Binds a cursor to its collection, filter and sort: reused with another query it is refused. */
export function queryFingerprint(collection: string, filter: FilterNode, sort: readonly SortKey[]): string {
  return createHash('sha256').update(JSON.stringify([collection, filter, sort])).digest('base64url').slice(0, 22);
}

export function encodeCursor(fingerprint: string, position: CursorPosition): string {
  return Buffer.from(JSON.stringify({ v: VERSION, q: fingerprint, k: position.values }), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: unknown, fingerprint: string, keys: readonly SortKey[]): CursorPosition {
  const at = '/cursor';
  if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    invalid(at, 'not a cursor returned by this query');
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    invalid(at, 'not a cursor returned by this query');
  }
  if (!isPlainObject(decoded) || decoded.v !== VERSION || !Array.isArray(decoded.k)) {
    invalid(at, 'not a cursor returned by this query');
  }
  if (decoded.q !== fingerprint) invalid(at, 'the cursor belongs to another collection, filter or sort');
  const values = decoded.k;
  if (values.length !== keys.length || !values.every(isScalar) || typeof values[values.length - 1] !== 'string') {
    invalid(at, 'not a cursor returned by this query');
  }
  return { values: values as Scalar[] };
}
