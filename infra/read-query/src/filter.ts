import { invalid, isPlainObject, pointerTo } from './invalid.ts';
import { assertPath } from './names.ts';

/**
 * The filter language of the ReadStore port, parsed into a tree that adapters translate
 * (to SQL, to a Mongo filter) and that the query API can walk for field permissions.
 *
 * Deliberately a subset of MongoDB's, so that both stores agree on every query they accept:
 * - operands are scalars: strings, finite numbers, booleans, null. No embedded-document or
 *   array equality (the embedded store compares scalars only);
 * - `$gt $gte $lt $lte` take a string or a number (ISO dates are strings); like MongoDB
 *   they only match values of the operand's type (MongoDB's "type bracketing");
 * - `{path: null}` and `$eq: null` match null and missing; `$ne` and `$nin` match missing;
 * - everything else (`$regex $where $expr $not $nor $elemMatch $size` …) is refused, never
 *   ignored: a silently dropped condition would widen what a caller sees.
 */
export type Scalar = string | number | boolean | null;

export type FilterNode =
  | { kind: 'and' | 'or'; nodes: FilterNode[] }
  | { kind: 'eq' | 'ne'; path: string; value: Scalar }
  | { kind: 'gt' | 'gte' | 'lt' | 'lte'; path: string; value: string | number }
  | { kind: 'in' | 'nin'; path: string; values: Scalar[] }
  | { kind: 'exists'; path: string; exists: boolean };

export type RangeKind = 'gt' | 'gte' | 'lt' | 'lte';

const MAX_DEPTH = 8;
const MAX_IN_VALUES = 1000;
const MAX_NODES = 500;

const FIELD_OPERATORS = ['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists'] as const;
type FieldOperator = (typeof FIELD_OPERATORS)[number];
const isFieldOperator = (key: string): key is FieldOperator => (FIELD_OPERATORS as readonly string[]).includes(key);

export function isScalar(value: unknown): value is Scalar {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

/** Parses a Mongo-style filter; `undefined` and `{}` match everything (an empty `and`). */
export function parseFilter(filter: unknown, pointer = '/filter'): FilterNode {
  let nodes = 0;
  const count = (at: string) => {
    if (++nodes > MAX_NODES) invalid(at, `the filter has more than ${MAX_NODES} conditions`);
  };

  const parseObject = (value: unknown, at: string, depth: number): FilterNode => {
    if (depth > MAX_DEPTH) invalid(at, `filters nest at most ${MAX_DEPTH} levels deep`);
    if (!isPlainObject(value)) invalid(at, 'a filter is a JSON object');
    const parts: FilterNode[] = [];
    for (const [key, operand] of Object.entries(value)) {
      const keyAt = pointerTo(at, key);
      if (key === '$and' || key === '$or') {
        if (!Array.isArray(operand) || operand.length === 0) invalid(keyAt, `${key} takes a non-empty array of filters`);
        parts.push({ kind: key === '$and' ? 'and' : 'or', nodes: operand.map((f, i) => parseObject(f, pointerTo(keyAt, i), depth + 1)) });
      } else if (key.startsWith('$')) {
        invalid(keyAt, 'unsupported top-level operator; allowed: $and, $or');
      } else {
        parts.push(...parseField(assertPath(key, keyAt), operand, keyAt));
      }
    }
    return parts.length === 1 && parts[0] ? parts[0] : { kind: 'and', nodes: parts };
  };

  const parseField = (path: string, operand: unknown, at: string): FilterNode[] => {
    if (!isPlainObject(operand)) {
      count(at);
      return [{ kind: 'eq', path, value: scalar(operand, at) }];
    }
    const entries = Object.entries(operand);
    if (entries.length === 0) invalid(at, 'an empty operator object; write {"path": {"$eq": value}} or drop the condition');
    return entries.map(([op, value]) => {
      const opAt = pointerTo(at, op);
      count(opAt);
      if (!isFieldOperator(op)) {
        invalid(opAt, op.startsWith('$')
          ? `unsupported operator; allowed: ${FIELD_OPERATORS.join(', ')}`
          : 'embedded-document equality is not supported; compare dotted paths instead');
      }
      return fieldCondition(path, op, value, opAt);
    });
  };

  if (filter === undefined) return { kind: 'and', nodes: [] };
  return parseObject(filter, pointer, 1);
}

function fieldCondition(path: string, op: FieldOperator, value: unknown, at: string): FilterNode {
  switch (op) {
    case '$eq':
    case '$ne':
      return { kind: op === '$eq' ? 'eq' : 'ne', path, value: scalar(value, at) };
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte':
      if (typeof value !== 'string' && !(typeof value === 'number' && Number.isFinite(value))) {
        invalid(at, `${op} takes a string or a finite number`);
      }
      return { kind: op.slice(1) as RangeKind, path, value };
    case '$in':
    case '$nin':
      if (!Array.isArray(value)) invalid(at, `${op} takes an array of scalars`);
      if (value.length > MAX_IN_VALUES) invalid(at, `${op} takes at most ${MAX_IN_VALUES} values`);
      return { kind: op === '$in' ? 'in' : 'nin', path, values: value.map((v, i) => scalar(v, pointerTo(at, i))) };
    case '$exists':
      if (typeof value !== 'boolean') invalid(at, '$exists takes true or false');
      return { kind: 'exists', path, exists: value };
  }
}

function scalar(value: unknown, at: string): Scalar {
  if (!isScalar(value)) invalid(at, 'a filter value is a string, a finite number, a boolean or null');
  return value;
}
