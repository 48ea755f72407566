/**
 * Restriction of processing (Art. 18): a restricted subject stays stored but leaves every
 * view until the restriction is lifted. Queries leave out every document that links to a
 * restricted subject (by id, or by the view's pseudonym in analytics) — in pages,
 * aggregations and the KPIs alike.
 */
import type { Filter, Pipeline } from '@crm/core';
import type { CollectionDefinition } from '@crm/projections';
import type { Restrictions } from '@crm/projector';

/** The filter that leaves restricted subjects out of a collection; undefined when nothing is restricted or nothing links. */
export function restrictionFilter(collection: CollectionDefinition, restrictions: Restrictions): Filter | undefined {
  const clauses: Filter[] = [];
  if (restrictions.subjectIds.length > 0) for (const field of collection.erasure?.links ?? []) clauses.push({ [field]: { $nin: restrictions.subjectIds } });
  if (restrictions.pseudonyms.length > 0) for (const field of collection.pseudonymousLinks ?? []) clauses.push({ [field]: { $nin: restrictions.pseudonyms } });
  if (clauses.length === 0) return undefined;
  return clauses.length === 1 ? clauses[0] : { $and: clauses };
}

export function withRestrictions(filter: Filter | undefined, restriction: Filter | undefined): Filter | undefined {
  if (!restriction) return filter;
  return filter ? { $and: [filter, restriction] } : restriction;
}

/** The pipeline with a first `$match` that leaves restricted subjects out. */
export function pipelineWithRestrictions(pipeline: Pipeline, restriction: Filter | undefined): Pipeline {
  return restriction ? [{ $match: restriction }, ...pipeline] : pipeline;
}
