import type { IndexDefinition } from '@crm/core';
import { valueOf } from './read-store-sql.ts';

/**
 * One table per collection, `"doc:<collection>"`: `_id` primary key, the document as JSON
 * text. One table each (rather than one table with a collection column) because:
 * - `drop` is a DROP TABLE, which frees (and with secure_delete zeroes) the pages at once,
 *   instead of deleting row by row;
 * - an index belongs to one collection without being a partial index, which SQLite could
 *   only use when the query names the collection as a literal, not as a parameter;
 * - a unique index is unique within its collection, as in MongoDB.
 * Collection and index names are validated (letters, digits, _), so quoting them is safe;
 * `:` cannot occur in them, so table and index names never collide.
 */
export const TABLE_PREFIX = 'doc:';

export function tableName(collection: string): string {
  return `"${TABLE_PREFIX}${collection}"`;
}

export function indexName(collection: string, index: string): string {
  return `${TABLE_PREFIX}${collection}:${index}`;
}

export function createTableSql(collection: string): string {
  return `CREATE TABLE IF NOT EXISTS ${tableName(collection)} (_id TEXT NOT NULL PRIMARY KEY, doc TEXT NOT NULL) STRICT`;
}

/**
 * Expression indexes on `json_extract(doc, '$.path')`, the very expression queries use, so
 * the planner matches them. NULLs (missing fields) are distinct in a SQLite UNIQUE index:
 * many documents may lack the field. MongoDB instead indexes a missing field as null and
 * refuses a second such document; the contract suite does not rely on either behaviour.
 * The statement text is also the index's identity: `ensureIndexes` compares it with what
 * sqlite_schema holds to tell "already there" from "same name, other definition".
 */
export function createIndexSql(collection: string, index: IndexDefinition): string {
  const keys = index.keys.map(([path, direction]) => `${valueOf(path, { idColumn: true })} ${direction === 1 ? 'ASC' : 'DESC'}`);
  const unique = index.unique ? 'UNIQUE ' : '';
  return `CREATE ${unique}INDEX "${indexName(collection, index.name)}" ON ${tableName(collection)} (${keys.join(', ')})`;
}
