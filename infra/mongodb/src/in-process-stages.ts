import type { FilterNode, Scalar, SortKey, Stage } from '@crm/read-query';
import { valueAt } from './mongo-keyset.ts';

type Row = Record<string, unknown>;

/**
 * Runs pipeline stages over documents already in memory, with MongoDB's semantics for
 * scalars. Used only for what follows a `$group` that FerretDB 1.x cannot compute in one
 * stage (see ferretdb-aggregation.ts): its input is one document per group, not the
 * collection.
 */
export function runInProcess(rows: Row[], stages: readonly Stage[]): Row[] {
  let current = rows;
  for (const stage of stages) {
    switch (stage.kind) {
      case 'match':
        current = current.filter((row) => matches(stage.filter, row));
        break;
      case 'sort':
        current = [...current].sort(compareRows(stage.keys));
        break;
      case 'count':
        current = current.length === 0 ? [] : [{ [stage.name]: current.length }];
        break;
      case 'group': {
        const groups = new Map<string, Row[]>();
        for (const row of current) {
          const key = stage.by === null ? null : (valueAt(row, stage.by) ?? null);
          const members = groups.get(groupId(key));
          if (members) members.push(row);
          else groups.set(groupId(key), [row]);
        }
        current = [...groups.values()].map((members) => {
          const first = members[0] as Row;
          const out: Row = { _id: stage.by === null ? null : (valueAt(first, stage.by) ?? null) };
          for (const o of stage.outputs) {
            if ('constant' in o.of) {
              out[o.name] = members.length * o.of.constant;
              continue;
            }
            const path = o.of.path;
            const numbers = members.map((m) => valueAt(m, path)).filter((v): v is number => typeof v === 'number');
            const sum = numbers.reduce((a, b) => a + b, 0);
            out[o.name] = o.op === 'sum' ? sum : numbers.length === 0 ? null : sum / numbers.length;
          }
          return out;
        });
        break;
      }
    }
  }
  return current;
}

/** One key per distinct group value: type and value, so 1 and "1" stay apart and null and missing fall together. */
export function groupId(value: unknown): string {
  return JSON.stringify([value === null || value === undefined ? 'null' : typeof value, value ?? null]);
}

export function matches(node: FilterNode, row: Row): boolean {
  switch (node.kind) {
    case 'and':
      return node.nodes.every((n) => matches(n, row));
    case 'or':
      return node.nodes.some((n) => matches(n, row));
    case 'eq':
      return equals(valueAt(row, node.path), node.value);
    case 'ne':
      return !equals(valueAt(row, node.path), node.value);
    case 'in':
      return node.values.some((v) => equals(valueAt(row, node.path), v));
    case 'nin':
      return !node.values.some((v) => equals(valueAt(row, node.path), v));
    case 'exists':
      return (valueAt(row, node.path) !== undefined) === node.exists;
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const value = valueAt(row, node.path);
      // Type bracketing: a range only matches values of the operand's type.
      if (typeof value !== typeof node.value) return false;
      const c = compareScalars(value as string | number, node.value);
      return node.kind === 'gt' ? c > 0 : node.kind === 'gte' ? c >= 0 : node.kind === 'lt' ? c < 0 : c <= 0;
    }
  }
}

function equals(value: unknown, operand: Scalar): boolean {
  return operand === null ? value === null || value === undefined : value === operand;
}

/** MongoDB's order across types: null/missing, numbers, strings, objects, arrays, booleans. */
function rank(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'number') return 1;
  if (typeof value === 'string') return 2;
  if (typeof value === 'boolean') return 5;
  return Array.isArray(value) ? 4 : 3;
}

function compareScalars(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  // MongoDB compares strings by their UTF-8 bytes; JS `<` would compare UTF-16 units.
  if (typeof a === 'string' && typeof b === 'string') return Buffer.compare(Buffer.from(a), Buffer.from(b));
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return ra === 0 ? 0 : Buffer.compare(Buffer.from(JSON.stringify(a)), Buffer.from(JSON.stringify(b)));
}

function compareRows(keys: readonly SortKey[]): (a: Row, b: Row) => number {
  return (a, b) => {
    for (const key of keys) {
      const c = compareScalars(valueAt(a, key.path), valueAt(b, key.path)) * key.direction;
      if (c !== 0) return c;
    }
    return 0;
  };
}
