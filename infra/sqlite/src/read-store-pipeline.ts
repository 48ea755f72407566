import type { GroupOutput, Stage } from '@crm/read-query';
import { filterSql } from './read-store-filter.ts';
import { orderBySql } from './read-store-keyset.ts';
import { NUMERIC, SqlParams, typeOf, valueOf, type Relation } from './read-store-sql.ts';

export interface PipelineSql {
  sql: string;
  params: Record<string, string | number | null>;
}

interface Step extends Relation {
  /** A table or a parenthesised subquery with a `doc` column (and `_id` when idColumn). */
  from: string;
  /** Set by `$sort`, kept by `$match`, dropped by `$group` and `$count`; applied once, outermost. */
  orderBy?: string;
}

/**
 * One SELECT for a whole pipeline: each stage wraps the previous one as a subquery whose
 * rows are JSON documents, so a later `$match` or `$sort` reads `$group` output the way it
 * reads stored documents. SQLite flattens the leading `$match` into the table scan, so
 * expression indexes serve it.
 */
export function pipelineSql(table: string, stages: readonly Stage[]): PipelineSql {
  const params = new SqlParams();
  let step: Step = { from: table, idColumn: true };
  for (const stage of stages) {
    switch (stage.kind) {
      case 'match': {
        const columns = step.idColumn ? '_id, doc' : 'doc';
        step = { ...step, from: `(SELECT ${columns} FROM ${step.from} WHERE ${filterSql(stage.filter, params, step)})` };
        break;
      }
      case 'sort':
        step = { ...step, orderBy: orderBySql(stage.keys, step) };
        break;
      case 'group':
        step = { from: groupSql(step, stage.by, stage.outputs, params), idColumn: false };
        break;
      case 'count':
        // HAVING: MongoDB's $count over no documents yields no document, not {n: 0}.
        step = { from: `(SELECT json_object(${params.add(stage.name)}, COUNT(*)) AS doc FROM ${step.from} HAVING COUNT(*) > 0)`, idColumn: false };
        break;
    }
  }
  const orderBy = step.orderBy ? ` ORDER BY ${step.orderBy}` : '';
  return { sql: `SELECT doc FROM ${step.from}${orderBy}`, params: params.values };
}

/**
 * `$group` as GROUP BY. Keys compare as MongoDB's do: by JSON type (integer and real are one
 * numeric type) and value, with null and missing in one group keyed null. `_id: null` groups
 * everything; GROUP BY NULL (rather than no GROUP BY) yields no row for no input, as MongoDB.
 */
function groupSql(step: Step, by: string | null, outputs: readonly GroupOutput[], params: SqlParams): string {
  let key = 'NULL';
  let groupBy = 'NULL';
  if (by !== null && by === '_id' && step.idColumn) {
    key = 'json_quote(_id)';
    groupBy = '_id';
  } else if (by !== null) {
    const type = typeOf(by, step);
    key = `json(NULLIF(doc -> '$.${by}', 'null'))`;
    groupBy = `CASE ${type} WHEN 'integer' THEN 'real' WHEN 'null' THEN NULL ELSE ${type} END, ${valueOf(by, step)}`;
  }
  const fields = outputs.map((o) => `${params.add(o.name)}, ${accumulatorSql(o, step, params)}`);
  return `(SELECT json_object('_id', ${key}${fields.map((f) => `, ${f}`).join('')}) AS doc FROM ${step.from} GROUP BY ${groupBy})`;
}

/** `$sum` and `$avg` skip values that are not numbers (booleans included), as MongoDB's do; `$sum` of none is 0, `$avg` of none null. */
function accumulatorSql(output: GroupOutput, relation: Relation, params: SqlParams): string {
  if ('constant' in output.of) return `COUNT(*) * ${params.add(output.of.constant)}`;
  const path = output.of.path;
  const numeric = `CASE WHEN ${typeOf(path, relation)} IN ${NUMERIC} THEN ${valueOf(path, relation)} END`;
  return output.op === 'sum' ? `COALESCE(SUM(${numeric}), 0)` : `AVG(${numeric})`;
}
