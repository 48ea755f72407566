import { parseFilter, type FilterNode } from './filter.ts';
import { invalid, isPlainObject, pointerTo } from './invalid.ts';
import { assertName, assertPath } from './names.ts';
import { parseSortObject, type SortKey } from './sort.ts';

/**
 * Aggregation pipelines of the port: `$match`, `$group` (`_id` a `"$path"` or null;
 * accumulators `$sum` of a `"$path"` or a number, `$avg` of a `"$path"`), `$sort`, `$count`.
 * Anything else is refused. Semantics follow MongoDB: `$sum` and `$avg` skip values that are
 * not numbers; `$avg` of no numbers is null; `$group` and `$count` over nothing yield no
 * document; null and missing group keys fall in one group, keyed null.
 */
export type Stage =
  | { kind: 'match'; filter: FilterNode }
  | { kind: 'group'; by: string | null; outputs: GroupOutput[] }
  | { kind: 'sort'; keys: SortKey[] }
  | { kind: 'count'; name: string };

export type GroupOutput =
  | { name: string; op: 'sum'; of: { path: string } | { constant: number } }
  | { name: string; op: 'avg'; of: { path: string } };

const MAX_STAGES = 16;
const MAX_OUTPUTS = 16;

export function parsePipeline(pipeline: unknown, pointer = '/pipeline'): Stage[] {
  if (!Array.isArray(pipeline)) invalid(pointer, 'a pipeline is an array of stages');
  if (pipeline.length > MAX_STAGES) invalid(pointer, `a pipeline has at most ${MAX_STAGES} stages`);
  return pipeline.map((stage, i) => parseStage(stage, pointerTo(pointer, i)));
}

function parseStage(stage: unknown, pointer: string): Stage {
  if (!isPlainObject(stage) || Object.keys(stage).length !== 1) invalid(pointer, 'a stage is an object with exactly one key');
  const [name, spec] = Object.entries(stage)[0] as [string, unknown];
  const at = pointerTo(pointer, name);
  switch (name) {
    case '$match':
      return { kind: 'match', filter: parseFilter(spec, at) };
    case '$group':
      return parseGroup(spec, at);
    case '$sort':
      return { kind: 'sort', keys: parseSortObject(spec, at) };
    case '$count':
      return { kind: 'count', name: assertName(spec, at, '$count output field') };
    default:
      return invalid(at, 'unsupported stage; allowed: $match, $group, $sort, $count');
  }
}

function parseGroup(spec: unknown, pointer: string): Stage {
  if (!isPlainObject(spec) || !('_id' in spec)) invalid(pointer, '$group takes an object with an _id');
  const by = spec._id === null ? null : fieldReference(spec._id, pointerTo(pointer, '_id'), '$group _id is "$path" or null');
  const outputs = Object.entries(spec)
    .filter(([name]) => name !== '_id')
    .map(([name, accumulator]): GroupOutput => {
      const at = pointerTo(pointer, name);
      assertName(name, at, '$group output field');
      if (!isPlainObject(accumulator) || Object.keys(accumulator).length !== 1) {
        invalid(at, 'an accumulator is an object with exactly one operator');
      }
      const [op, operand] = Object.entries(accumulator)[0] as [string, unknown];
      const opAt = pointerTo(at, op);
      if (op === '$sum') {
        if (typeof operand === 'number' && Number.isFinite(operand)) return { name, op: 'sum', of: { constant: operand } };
        return { name, op: 'sum', of: { path: fieldReference(operand, opAt, '$sum takes "$path" or a number') } };
      }
      if (op === '$avg') return { name, op: 'avg', of: { path: fieldReference(operand, opAt, '$avg takes "$path"') } };
      return invalid(opAt, 'unsupported accumulator; allowed: $sum, $avg');
    });
  if (outputs.length > MAX_OUTPUTS) invalid(pointer, `$group has at most ${MAX_OUTPUTS} outputs`);
  return { kind: 'group', by, outputs };
}

/** `"$owner.team"` → `owner.team`. */
function fieldReference(value: unknown, pointer: string, reason: string): string {
  if (typeof value !== 'string' || !value.startsWith('$')) invalid(pointer, reason);
  return assertPath(value.slice(1), pointer);
}
