/**
 * The query parameters of `GET /v1/views/{view}/{collection}`, parsed and validated (pure).
 *
 * - `filter`: a JSON object, Mongo-style (`$eq $ne $gt $gte $lt $lte $in $nin $exists`,
 *   `$and $or`, dotted paths); parsed by @crm/read-query, so it accepts exactly what every
 *   read store runs.
 * - `sort`: comma-separated field paths, each ascending or, with a leading `-`, descending:
 *   `-openedAt,name`. (`+` would arrive as a space in a query string.) `_id` breaks ties.
 * - `limit`: 1 to 200, default 20.
 * - `cursor`: the `nextCursor` of the previous page, with the same filter and sort.
 * - `minPosition`: a global position the view must have reached before it answers.
 * - `purpose`: why the caller reads (recorded in the audit log), 1 to 200 characters
 *   without control characters; default: the view's declared purpose.
 * - `pipeline`: a JSON array of `$match $group $sort $count` stages (`$sum $avg`); answers
 *   `{ results }` instead of a page, and takes no `filter` (use a `$match` stage), `sort`,
 *   `limit` or `cursor`.
 *
 * Each parameter at most once; unknown parameters are refused (a misspelt `filtr` must not
 * silently widen the answer). Errors point at the parameter (`?filter/amount/$regex`) and
 * never echo a value.
 */
import { ValidationFailed } from '@crm/contracts';
import type { Pipeline, Sort } from '@crm/core';
import { type FilterNode, type Stage, assertPath, parseFilter, parsePipeline, pointerTo } from '@crm/read-query';

export const DEFAULT_VIEW_PAGE_SIZE = 20;
export const MAX_VIEW_PAGE_SIZE = 200;
export const MAX_PURPOSE_LENGTH = 200;
/** Longest `filter` or `pipeline` parameter, in characters. */
export const MAX_QUERY_JSON_LENGTH = 16_384;
const MAX_CURSOR_LENGTH = 4096;

export interface ViewQuery {
  filter?: FilterNode;
  sort?: Sort;
  limit: number;
  cursor?: string;
  minPosition?: number;
  purpose?: string;
  /** As given (validated), and parsed. */
  pipeline?: { raw: Pipeline; stages: Stage[] };
}

export interface KpiParams {
  minPosition?: number;
}

const VIEW_PARAMS = ['filter', 'sort', 'limit', 'cursor', 'minPosition', 'purpose', 'pipeline'] as const;
const KPI_PARAMS = ['minPosition'] as const;

function refuse(pointer: string, reason: string): never {
  throw new ValidationFailed([{ pointer, reason }]);
}

/** The query's parameters as single strings; refuses repeated and unknown ones. */
function singleParams<K extends string>(query: Record<string, unknown>, allowed: readonly K[]): Partial<Record<K, string>> {
  const params: Partial<Record<K, string>> = {};
  for (const [name, value] of Object.entries(query)) {
    const at = `?${name.length > 64 ? `${name.slice(0, 64)}…` : name}`;
    if (!(allowed as readonly string[]).includes(name)) refuse(at, `unknown query parameter; allowed: ${allowed.join(', ')}`);
    if (typeof value !== 'string') refuse(at, 'give the parameter once, as a plain value');
    params[name as K] = value;
  }
  return params;
}

function json(raw: string, pointer: string): unknown {
  if (raw.length > MAX_QUERY_JSON_LENGTH) refuse(pointer, `is longer than ${MAX_QUERY_JSON_LENGTH} characters`);
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return refuse(pointer, 'is not valid JSON');
  }
}

/** `-openedAt,name` → `[['openedAt', -1], ['name', 1]]`. */
export function parseSortParam(raw: string, pointer = '?sort'): Sort {
  const keys = raw.split(',');
  if (keys.length > 8) refuse(pointer, 'at most 8 sort keys');
  const seen = new Set<string>();
  return keys.map((key, i): [string, 1 | -1] => {
    const at = pointerTo(pointer, i);
    const descending = key.startsWith('-');
    const path = assertPath(descending ? key.slice(1) : key, at);
    if (seen.has(path)) refuse(at, 'a path appears twice in the sort');
    seen.add(path);
    return [path, descending ? -1 : 1];
  });
}

function wholeNumber(raw: string, pointer: string, reason: string, min: number, max: number): number {
  if (!/^[0-9]{1,16}$/.test(raw)) refuse(pointer, reason);
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) refuse(pointer, reason);
  return value;
}

function minPositionOf(raw: string | undefined): number | undefined {
  return raw === undefined ? undefined : wholeNumber(raw, '?minPosition', 'must be a non-negative integer', 0, Number.MAX_SAFE_INTEGER);
}

export function parseViewQuery(query: Record<string, unknown>): ViewQuery {
  const p = singleParams(query, VIEW_PARAMS);
  const parsed: ViewQuery = { limit: DEFAULT_VIEW_PAGE_SIZE };

  if (p.pipeline !== undefined) {
    for (const other of ['filter', 'sort', 'limit', 'cursor'] as const) {
      if (p[other] !== undefined) refuse(`?${other}`, other === 'filter' ? 'not with pipeline; put the filter in a $match stage' : 'not with pipeline');
    }
    const raw = json(p.pipeline, '?pipeline');
    parsed.pipeline = { stages: parsePipeline(raw, '?pipeline'), raw: raw as Pipeline };
  }
  if (p.filter !== undefined) parsed.filter = parseFilter(json(p.filter, '?filter'), '?filter');
  if (p.sort !== undefined) parsed.sort = parseSortParam(p.sort);
  if (p.limit !== undefined) parsed.limit = wholeNumber(p.limit, '?limit', `must be an integer from 1 to ${MAX_VIEW_PAGE_SIZE}`, 1, MAX_VIEW_PAGE_SIZE);
  if (p.cursor !== undefined) {
    if (!/^[A-Za-z0-9_-]+$/.test(p.cursor) || p.cursor.length > MAX_CURSOR_LENGTH) refuse('?cursor', 'not a cursor returned by this query');
    parsed.cursor = p.cursor;
  }
  const minPosition = minPositionOf(p.minPosition);
  if (minPosition !== undefined) parsed.minPosition = minPosition;
  if (p.purpose !== undefined) {
    if (p.purpose.trim() === '' || p.purpose.length > MAX_PURPOSE_LENGTH || /\p{Cc}/u.test(p.purpose)) {
      refuse('?purpose', `must be 1 to ${MAX_PURPOSE_LENGTH} characters of text, without control characters`);
    }
    parsed.purpose = p.purpose.trim();
  }
  return parsed;
}

export function parseKpiQuery(query: Record<string, unknown>): KpiParams {
  const p = singleParams(query, KPI_PARAMS);
  const minPosition = minPositionOf(p.minPosition);
  return minPosition === undefined ? {} : { minPosition };
}
