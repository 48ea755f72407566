import type { FilterNode } from '@crm/read-query';
import type { Filter, Document as MongoDocument } from 'mongodb';

/** Documents as this adapter stores them: `_id` is always a string. */
export type StoredDocument = { _id: string } & MongoDocument;
export type StoredFilter = Filter<StoredDocument>;

/**
 * A parsed filter back as a Mongo filter, rebuilt from the validated tree rather than
 * passed through: only operators the parser accepted can reach the server. Every condition
 * is spelt with its operator (`$eq` for implicit equality), so a value can never be read as
 * an operator or an embedded-document match.
 */
export function toMongoFilter(node: FilterNode): StoredFilter {
  switch (node.kind) {
    case 'and':
      if (node.nodes.length === 0) return {};
      return node.nodes.length === 1 && node.nodes[0] ? toMongoFilter(node.nodes[0]) : { $and: node.nodes.map(toMongoFilter) };
    case 'or':
      return { $or: node.nodes.map(toMongoFilter) };
    case 'eq':
    case 'ne':
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return { [node.path]: { [`$${node.kind}`]: node.value } };
    case 'in':
    case 'nin':
      return { [node.path]: { [`$${node.kind}`]: node.values } };
    case 'exists':
      return { [node.path]: { $exists: node.exists } };
  }
}
