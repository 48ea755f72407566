import type { Document, IndexDefinition } from '@crm/core';
import { invalid, isPlainObject, pointerTo } from './invalid.ts';
import { assertName, assertPath } from './names.ts';

const MAX_ID_LENGTH = 512;
const MAX_INDEX_KEYS = 8;

export function assertDocumentId(id: unknown, pointer: string): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) {
    invalid(pointer, `_id is a non-empty string of at most ${MAX_ID_LENGTH} characters`);
  }
  return id;
}

export interface JsonDocument {
  id: string;
  json: string;
}

/**
 * Documents as both stores keep them: JSON text. Serialising turns what JSON cannot hold
 * the way JSON.stringify does (Date → ISO string, undefined dropped), so the embedded
 * store and MongoDB return the same document for the same input.
 */
export function toJsonDocuments(documents: readonly Document[]): JsonDocument[] {
  if (!Array.isArray(documents)) invalid('/documents', 'documents is an array');
  return documents.map((document, i) => {
    const at = pointerTo('/documents', i);
    if (!isPlainObject(document)) invalid(at, 'a document is a JSON object');
    return { id: assertDocumentId(document._id, pointerTo(at, '_id')), json: JSON.stringify(document) };
  });
}

export function assertIds(ids: readonly string[]): string[] {
  if (!Array.isArray(ids)) invalid('/ids', 'ids is an array of strings');
  return ids.map((id, i) => assertDocumentId(id, pointerTo('/ids', i)));
}

/** Index definitions, validated: names unique in the call, paths valid, directions 1 | -1. */
export function parseIndexes(indexes: readonly IndexDefinition[]): IndexDefinition[] {
  if (!Array.isArray(indexes)) invalid('/indexes', 'indexes is an array');
  const names = new Set<string>();
  return indexes.map((index, i): IndexDefinition => {
    const at = pointerTo('/indexes', i);
    if (!isPlainObject(index)) invalid(at, 'an index definition is an object');
    const name = assertName(index.name, pointerTo(at, 'name'), 'index name');
    if (names.has(name)) invalid(pointerTo(at, 'name'), 'two definitions share this index name');
    names.add(name);
    const keysAt = pointerTo(at, 'keys');
    if (!Array.isArray(index.keys) || index.keys.length === 0 || index.keys.length > MAX_INDEX_KEYS) {
      invalid(keysAt, `keys is an array of 1 to ${MAX_INDEX_KEYS} [path, 1 | -1] pairs`);
    }
    const paths = new Set<string>();
    const keys = index.keys.map((key, k): [string, 1 | -1] => {
      const keyAt = pointerTo(keysAt, k);
      if (!Array.isArray(key) || key.length !== 2 || (key[1] !== 1 && key[1] !== -1)) invalid(keyAt, 'an index key is a [path, 1 | -1] pair');
      const path = assertPath(key[0], pointerTo(keyAt, 0));
      if (paths.has(path)) invalid(keyAt, 'a path appears twice in the index');
      paths.add(path);
      return [path, key[1]];
    });
    if (index.unique !== undefined && typeof index.unique !== 'boolean') invalid(pointerTo(at, 'unique'), 'unique is true or false');
    return { name, keys, unique: index.unique === true };
  });
}
