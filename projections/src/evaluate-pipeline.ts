/**
 * Test-only: runs the read-store port's aggregation pipelines over documents in memory, so
 * view tests can check query-time aggregations without a store. Follows the port's
 * documented semantics (see `Pipeline` and `Filter` in @crm/core): `{path: null}` matches null
 * and missing, `$ne`/`$nin` match missing, ranges compare only values of the operand's type;
 * `$sum`/`$avg` skip non-numbers, `$avg` of nothing is null; null and missing group keys fall
 * in one group keyed null; `$group` and `$count` over nothing yield no row. Anything outside
 * the port's subset throws, as the stores refuse it, so a test also proves a pipeline is
 * one every store runs.
 */
import type { Filter, Pipeline } from '@crm/core';

type Row = Record<string, unknown>;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function valueAt(row: Row, path: string): unknown {
  let value: unknown = row;
  for (const part of path.split('.')) value = isObject(value) ? value[part] : undefined;
  return value;
}

/** `"$a.b"` → `a.b`. */
function fieldPath(reference: unknown): string {
  if (typeof reference !== 'string' || !reference.startsWith('$')) throw new Error(`Not a field reference: ${JSON.stringify(reference)}`);
  return reference.slice(1);
}

const equals = (value: unknown, operand: unknown) => (operand === null ? value === null || value === undefined : value === operand);

function inRange(op: string, value: unknown, operand: unknown): boolean {
  if (typeof operand !== 'string' && typeof operand !== 'number') throw new Error(`${op} takes a string or a number`);
  if (typeof value !== typeof operand) return false;
  const [a, b] = [value as string | number, operand];
  return op === '$gt' ? a > b : op === '$gte' ? a >= b : op === '$lt' ? a < b : a <= b;
}

function fieldMatches(value: unknown, condition: unknown): boolean {
  if (!isObject(condition)) return equals(value, condition);
  return Object.entries(condition).every(([op, operand]) => {
    switch (op) {
      case '$eq':
        return equals(value, operand);
      case '$ne':
        return !equals(value, operand);
      case '$gt':
      case '$gte':
      case '$lt':
      case '$lte':
        return inRange(op, value, operand);
      case '$in':
      case '$nin': {
        if (!Array.isArray(operand)) throw new Error(`${op} takes an array`);
        const found = operand.some((o) => equals(value, o));
        return op === '$in' ? found : !found;
      }
      case '$exists':
        return (value !== undefined) === (operand === true);
      default:
        throw new Error(`Unsupported filter operator ${op}`);
    }
  });
}

export function matches(row: Row, filter: Filter): boolean {
  return Object.entries(filter).every(([key, condition]) => {
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(condition)) throw new Error(`${key} takes an array`);
      const parts = condition.map((f) => matches(row, f as Filter));
      return key === '$and' ? parts.every(Boolean) : parts.some(Boolean);
    }
    if (key.startsWith('$')) throw new Error(`Unsupported top-level operator ${key}`);
    return fieldMatches(valueAt(row, key), condition);
  });
}

function accumulate(rows: readonly Row[], accumulator: unknown): number | null {
  if (!isObject(accumulator) || Object.keys(accumulator).length !== 1) throw new Error('An accumulator has exactly one operator');
  const [op, operand] = Object.entries(accumulator)[0] as [string, unknown];
  if (op === '$sum' && typeof operand === 'number') return rows.length * operand;
  const path = fieldPath(operand);
  const numbers = rows.map((r) => valueAt(r, path)).filter((v): v is number => typeof v === 'number');
  const sum = numbers.reduce((a, b) => a + b, 0);
  if (op === '$sum') return sum;
  if (op === '$avg') return numbers.length === 0 ? null : sum / numbers.length;
  throw new Error(`Unsupported accumulator ${op}`);
}

function group(rows: readonly Row[], spec: unknown): Row[] {
  if (!isObject(spec) || !('_id' in spec)) throw new Error('$group takes an _id');
  const { _id: by, ...outputs } = spec;
  const path = by === null ? null : fieldPath(by);
  const groups = new Map<unknown, Row[]>();
  for (const row of rows) {
    const key = path === null ? null : (valueAt(row, path) ?? null);
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  return [...groups].map(([key, members]) => ({
    _id: key,
    ...Object.fromEntries(Object.entries(outputs).map(([name, accumulator]) => [name, accumulate(members, accumulator)])),
  }));
}

/** null and missing first, then numbers, then strings (MongoDB's order for these types). */
function compareValues(a: unknown, b: unknown): number {
  const rank = (v: unknown) => (v === null || v === undefined ? 0 : typeof v === 'number' ? 1 : 2);
  if (rank(a) !== rank(b)) return rank(a) - rank(b);
  if (rank(a) === 0 || a === b) return 0;
  return (a as string | number) < (b as string | number) ? -1 : 1;
}

function sort(rows: readonly Row[], spec: unknown): Row[] {
  if (!isObject(spec)) throw new Error('$sort takes an object');
  const keys = Object.entries(spec);
  return [...rows].sort((x, y) => {
    for (const [path, direction] of keys) {
      const order = compareValues(valueAt(x, path), valueAt(y, path));
      if (order !== 0) return direction === -1 ? -order : order;
    }
    return 0;
  });
}

export function evaluatePipeline(documents: readonly Row[], pipeline: Pipeline): Row[] {
  let rows: Row[] = [...documents];
  for (const stage of pipeline) {
    const entries = Object.entries(stage);
    if (entries.length !== 1) throw new Error('A stage has exactly one key');
    const [name, spec] = entries[0] as [string, unknown];
    switch (name) {
      case '$match':
        if (!isObject(spec)) throw new Error('$match takes a filter');
        rows = rows.filter((row) => matches(row, spec));
        break;
      case '$group':
        rows = group(rows, spec);
        break;
      case '$sort':
        rows = sort(rows, spec);
        break;
      case '$count':
        if (typeof spec !== 'string') throw new Error('$count takes a field name');
        rows = rows.length === 0 ? [] : [{ [spec]: rows.length }];
        break;
      default:
        throw new Error(`Unsupported stage ${name}`);
    }
  }
  return rows;
}
