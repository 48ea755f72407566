import type { Stage } from '@crm/read-query';
import type { Document as MongoDocument } from 'mongodb';
import { groupId, runInProcess } from './in-process-stages.ts';
import { accumulator, groupKey, toMongoPipeline } from './mongo-pipeline.ts';

type Row = Record<string, unknown>;
type Run = (pipeline: MongoDocument[]) => Promise<Row[]>;

/**
 * Aggregation within what FerretDB 1.24 computes correctly. Two gaps (checked against its
 * source, internal/handler/common/aggregations/stages/group.go):
 * - `$avg` is not implemented (error 238, NotImplemented);
 * - a `$group` with several accumulators hands every accumulator the same iterator over the
 *   group's documents: the first one drains it and the others silently come out 0. No error.
 * A `$group` with at most one `$sum` is computed right, and so are `$match`, `$sort` and
 * `$count` around it; such pipelines go to the server unchanged.
 *
 * Otherwise, for the first `$group` it cannot compute, the server runs everything before it
 * once per accumulator, each ending in a one-`$sum` `$group`: the group keys with a count,
 * each `$sum`, and for each `$avg` the sum and count of the numeric values (a `$match` on
 * `$type: "number"` first, since `$avg` skips non-numbers). The parts are joined by group key
 * here and the stages after that `$group` run in process over the group documents.
 *
 * Cost: one round trip per part instead of one. Without transactions the parts do not read
 * one snapshot, so writes landing in between can make, e.g., an average disagree with its
 * sum by the documents written meanwhile; analytics over projected views tolerate that.
 * MongoDB itself gets the pipeline unchanged (see mongo-read-store.ts).
 */
export async function aggregateWithinFerretDb(stages: readonly Stage[], run: Run): Promise<Row[]> {
  const split = stages.findIndex((s) => s.kind === 'group' && !computedRight(s));
  const group = stages[split];
  if (split < 0 || !group || group.kind !== 'group') return run(toMongoPipeline(stages));

  const prefix = toMongoPipeline(stages.slice(0, split));
  const key = groupKey(group.by);
  const oneSum = (extra: MongoDocument[], sum: MongoDocument) => run([...prefix, ...extra, { $group: { _id: key, v: sum } }]);

  const [groups, ...parts] = await Promise.all([
    oneSum([], { $sum: 1 }),
    ...group.outputs.map(async (output) => {
      if (output.op === 'sum') return { sum: await oneSum([], accumulator(output)) };
      const numeric = [{ $match: { [output.of.path]: { $type: 'number' } } }];
      const [sum, count] = await Promise.all([oneSum(numeric, { $sum: `$${output.of.path}` }), oneSum(numeric, { $sum: 1 })]);
      return { sum, count };
    }),
  ]);

  const byKey = (rows: Row[]) => new Map(rows.map((row) => [groupId(row._id), row.v]));
  const joined = group.outputs.map((output, i) => {
    const part = parts[i];
    return { output, sums: byKey(part?.sum ?? []), counts: part && 'count' in part ? byKey(part.count ?? []) : undefined };
  });
  const rows = (groups ?? []).map((g): Row => {
    const id = groupId(g._id);
    const row: Row = { _id: g._id ?? null };
    for (const { output, sums, counts } of joined) {
      const sum = (sums.get(id) as number | undefined) ?? 0;
      if (output.op === 'sum') row[output.name] = sum;
      else {
        const count = (counts?.get(id) as number | undefined) ?? 0;
        row[output.name] = count === 0 ? null : sum / count;
      }
    }
    return row;
  });
  return runInProcess(rows, stages.slice(split + 1));
}

/** FerretDB 1.x computes a `$group` right when it has at most one accumulator and that one is `$sum`. */
function computedRight(stage: Stage): boolean {
  return stage.kind === 'group' && stage.outputs.length <= 1 && stage.outputs.every((o) => o.op === 'sum');
}
