/**
 * The allow-list of the query API, pure: which collections and fields a caller's roles may
 * read (a collection's `fields[<top-level field>].roles`), and what that means for a query.
 *
 * - Results keep only the fields the caller may read: `_position`, `_blind` and any field the
 *   collection does not declare are always dropped.
 * - Every field a filter, sort or pipeline names must be readable (the top-level segment of
 *   a dotted path decides), else 403 naming the field. A condition is never silently dropped:
 *   that would widen what the caller sees.
 * - Personal fields are stored sealed. A filter can find one only by equality (`{email: v}`,
 *   `$eq`, `$in`) and only when it has a blind index: the condition is rewritten to
 *   `_blind.<field>`. Any other operator, and sorting, grouping or accumulating on a personal
 *   field, is a 400. `_blind` itself is internal (403).
 *
 * Errors name fields and operators, never values.
 */
import { FieldForbidden, Forbidden, type Role, ValidationFailed } from '@crm/contracts';
import type { Document, Filter, Pipeline, Sort } from '@crm/core';
import type { CollectionDefinition, FieldPolicy } from '@crm/projections';
import { type FilterNode, type Stage, isPlainObject, pointerTo } from '@crm/read-query';

/** Where blind indexes live in stored documents (`_blind.<field>`); internal to the store. */
export const BLIND_FIELD = '_blind';

export interface AccessContext {
  /** The view's name, e.g. `service`. */
  view: string;
  collection: CollectionDefinition;
  roles: readonly Role[];
  /** The blind index of a value of a blind-indexed personal field (the ViewReader's). */
  blindIndex(field: string, value: string): string;
}

/** The declared policy of a top-level field; `undefined` for undeclared ones (never the prototype's `constructor` & co.). */
export function fieldPolicy(collection: CollectionDefinition, field: string): FieldPolicy | undefined {
  return Object.hasOwn(collection.fields, field) ? collection.fields[field] : undefined;
}

export function mayRead(policy: FieldPolicy | undefined, roles: readonly Role[]): policy is FieldPolicy {
  return policy !== undefined && policy.roles.some((role) => roles.includes(role));
}

/** The top-level fields the roles may read, in declaration order. */
export function readableFields(collection: CollectionDefinition, roles: readonly Role[]): string[] {
  return Object.keys(collection.fields).filter((field) => mayRead(fieldPolicy(collection, field), roles));
}

/** A role may use a collection when it may read at least one of its fields. */
export function assertMayUseCollection(collection: CollectionDefinition, roles: readonly Role[]): void {
  if (readableFields(collection, roles).length === 0) {
    throw new Forbidden(`Your roles may not read ${collection.name}`);
  }
}

const topLevel = (path: string): string => path.split('.', 1)[0] ?? path;
const shortName = (name: string): string => (name.length > 64 ? `${name.slice(0, 64)}…` : name);

type Use = 'filter' | 'sort' | 'group' | 'accumulate';
const VERB: Record<Use, string> = { filter: 'filter on', sort: 'sort by', group: 'group by', accumulate: 'sum or average' };

/** The policy of the field a path names, if the caller may read it; else 403 naming the field. */
function readablePolicy(path: string, ctx: AccessContext, pointer: string, use: Use): FieldPolicy {
  const field = topLevel(path);
  if (field === BLIND_FIELD) {
    throw new FieldForbidden(pointer, `${BLIND_FIELD} is internal; to find a personal field with a blind index, ${VERB[use]} the field itself by equality`);
  }
  const policy = fieldPolicy(ctx.collection, field);
  if (!mayRead(policy, ctx.roles)) {
    throw new FieldForbidden(pointer, `Your roles may not read the field ${shortName(field)} of ${ctx.collection.name}, so they may not ${VERB[use]} it`);
  }
  return policy;
}

function refuse(pointer: string, reason: string): never {
  throw new ValidationFailed([{ pointer, reason }]);
}

/** A readable field that is not personal: for sorting, grouping and accumulating, which sealed values cannot take part in. */
function plainField(path: string, ctx: AccessContext, pointer: string, use: Exclude<Use, 'filter'>): void {
  const policy = readablePolicy(path, ctx, pointer, use);
  if (policy.personal) refuse(pointer, `${shortName(topLevel(path))} is personal data and stored sealed; it cannot be used to ${VERB[use]}`);
}

const OPERATOR: Record<Exclude<FilterNode['kind'], 'and' | 'or'>, string> = {
  eq: '$eq',
  ne: '$ne',
  gt: '$gt',
  gte: '$gte',
  lt: '$lt',
  lte: '$lte',
  in: '$in',
  nin: '$nin',
  exists: '$exists',
};

/**
 * Checks every condition of a parsed filter against the allow-list and returns it with
 * equality on blind-indexed personal fields rewritten to `_blind.<field>`.
 */
export function checkFilter(node: FilterNode, ctx: AccessContext, pointer = '?filter'): FilterNode {
  if ('nodes' in node) return { kind: node.kind, nodes: node.nodes.map((child) => checkFilter(child, ctx, pointer)) };
  const at = pointerTo(pointerTo(pointer, node.path), OPERATOR[node.kind]);
  const policy = readablePolicy(node.path, ctx, at, 'filter');
  if (!policy.personal) return node;

  const field = topLevel(node.path);
  const name = shortName(field);
  if (node.path !== field) refuse(at, `${name} is personal data and stored sealed; only the whole field can be compared, by equality`);
  if (!policy.blindIndex) refuse(at, `${name} is personal data and stored sealed without a blind index; it cannot be filtered on`);
  const blind = (value: unknown, valueAt: string): string => {
    if (typeof value !== 'string') refuse(valueAt, `${name} is found through its blind index, which takes strings only`);
    return ctx.blindIndex(field, value);
  };
  const path = `${BLIND_FIELD}.${field}`;
  if (node.kind === 'eq') return { kind: 'eq', path, value: blind(node.value, at) };
  if (node.kind === 'in') return { kind: 'in', path, values: node.values.map((v, i) => blind(v, pointerTo(at, i))) };
  return refuse(at, `${name} is personal data and stored sealed; only equality ($eq, $in or a plain value) can find it, through its blind index`);
}

/** The Mongo-style filter of the ReadStore port for a parsed filter. */
export function filterToMongo(node: FilterNode): Filter {
  switch (node.kind) {
    case 'and':
      return node.nodes.length === 0 ? {} : { $and: node.nodes.map(filterToMongo) };
    case 'or':
      return { $or: node.nodes.map(filterToMongo) };
    case 'in':
    case 'nin':
      return { [node.path]: { [OPERATOR[node.kind]]: [...node.values] } };
    case 'exists':
      return { [node.path]: { $exists: node.exists } };
    default:
      return { [node.path]: { [OPERATOR[node.kind]]: node.value } };
  }
}

/** Every sort key must name a readable, non-personal field. */
export function checkSort(sort: Sort, ctx: AccessContext, pointer = '?sort'): void {
  sort.forEach(([path], i) => plainField(path, ctx, pointerTo(pointer, i), 'sort'));
}

/**
 * Checks a pipeline (already parsed into `stages`) and returns it for the read store, with
 * its `$match` filters rewritten like `checkFilter`'s. Up to the first `$group` or `$count`,
 * paths name the collection's fields and are checked; after it they name that stage's
 * outputs (a group key of a readable plain field, sums and averages), which need no check.
 * A pipeline must aggregate: documents are read as pages, where fields are dropped per role
 * and personal data is audited.
 */
export function checkPipeline(raw: Pipeline, stages: readonly Stage[], ctx: AccessContext, pointer = '?pipeline'): Pipeline {
  let aggregated = false;
  const checked = stages.map((stage, i): Record<string, unknown> => {
    const rawStage = raw[i] ?? {};
    if (aggregated) return rawStage;
    const at = pointerTo(pointer, i);
    switch (stage.kind) {
      case 'match':
        return { $match: filterToMongo(checkFilter(stage.filter, ctx, pointerTo(at, '$match'))) };
      case 'sort': {
        const keys = isPlainObject(rawStage.$sort) ? Object.keys(rawStage.$sort) : [];
        for (const path of keys) plainField(path, ctx, pointerTo(pointerTo(at, '$sort'), path), 'sort');
        return rawStage;
      }
      case 'group': {
        const groupAt = pointerTo(at, '$group');
        if (stage.by !== null) plainField(stage.by, ctx, pointerTo(groupAt, '_id'), 'group');
        for (const output of stage.outputs) {
          if ('path' in output.of) plainField(output.of.path, ctx, pointerTo(pointerTo(groupAt, output.name), `$${output.op}`), 'accumulate');
        }
        aggregated = true;
        return rawStage;
      }
      case 'count':
        aggregated = true;
        return rawStage;
    }
  });
  if (!aggregated) refuse(pointer, 'a pipeline must aggregate with a $group or $count stage; read documents with filter and sort instead');
  return checked;
}

/** The personal fields the roles may read, with the fields naming their subjects. */
export function readablePersonalFields(collection: CollectionDefinition, roles: readonly Role[]): Array<{ field: string; subjectField: string }> {
  return readableFields(collection, roles).flatMap((field) => {
    const personal = fieldPolicy(collection, field)?.personal;
    return personal ? [{ field, subjectField: personal.subjectField }] : [];
  });
}

const present = (value: unknown) => value !== undefined && value !== null;

/** Whether a document holds a value (sealed or opened) in a personal field the roles may read: only then is it worth opening. */
export function holdsReadablePersonalValue(document: Record<string, unknown>, personal: ReadonlyArray<{ field: string }>): boolean {
  return personal.some(({ field }) => present(document[field]));
}

/** The document with only the fields the roles may read. */
export function projectDocument(document: Document, collection: CollectionDefinition, roles: readonly Role[]): Record<string, unknown> {
  const projected: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(document)) {
    if (mayRead(fieldPolicy(collection, field), roles)) projected[field] = value;
  }
  return projected;
}

/**
 * The data subjects of documents whose personal data an answer shows: the ids in each
 * readable personal field's `subjectField` (`subjectId` when none is readable), once each,
 * in order of appearance.
 */
export function subjectIdsOf(documents: readonly Record<string, unknown>[], personal: ReadonlyArray<{ subjectField: string }>): string[] {
  const fields = personal.length > 0 ? [...new Set(personal.map((p) => p.subjectField))] : ['subjectId'];
  const ids = new Set<string>();
  for (const document of documents) {
    for (const field of fields) {
      const id = document[field];
      if (typeof id === 'string' && id !== '') ids.add(id);
    }
  }
  return [...ids];
}
