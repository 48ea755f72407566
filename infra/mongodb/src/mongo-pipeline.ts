import type { GroupOutput, Stage } from '@crm/read-query';
import type { Document as MongoDocument } from 'mongodb';
import { toMongoFilter } from './mongo-filter.ts';
import { sortSpec } from './mongo-keyset.ts';

/**
 * A parsed pipeline back as MongoDB stages, rebuilt from the validated stages (never the
 * caller's objects), with the `_id` tie-break that parsing added to every `$sort`.
 */
export function toMongoPipeline(stages: readonly Stage[]): MongoDocument[] {
  return stages.map((stage): MongoDocument => {
    switch (stage.kind) {
      case 'match':
        return { $match: toMongoFilter(stage.filter) };
      case 'sort':
        return { $sort: sortSpec(stage.keys) };
      case 'count':
        return { $count: stage.name };
      case 'group':
        return { $group: { _id: groupKey(stage.by), ...Object.fromEntries(stage.outputs.map((o) => [o.name, accumulator(o)])) } };
    }
  });
}

export function groupKey(by: string | null): string | null {
  return by === null ? null : `$${by}`;
}

export function accumulator(output: GroupOutput): MongoDocument {
  const operand = 'constant' in output.of ? output.of.constant : `$${output.of.path}`;
  return { [`$${output.op}`]: operand };
}
