/**
 * Erasure on the read side (Art. 17): when a person is forgotten, every view scrubs them by
 * its collections' erasure rules — documents about them deleted or scrubbed (personal
 * fields, blind indexes and links to them nulled; non-personal facts kept), links to them
 * from other documents nulled. Their sealed values no longer open anyway once the key is
 * gone; scrubbing removes the ciphertext and the links too, so no document still points at
 * them. The same rule applies when a document of an already-forgotten person is written
 * again (a late event, a rebuild).
 */
import type { Document, Keyring, ReadStore } from '@crm/core';
import { type CollectionDefinition, type ErasureRule, ownSubjectField, type ViewDefinition } from '@crm/projections';
import type { IndexDefinition } from '@crm/core';
import { BLIND_FIELD, personalFields } from './sealing.ts';

/** One document per subject and view: what its scrub did (the erasure receipt reads them). */
export const ERASURES_COLLECTION = 'crm_erasures';

export interface ErasureCounts {
  deleted: number;
  unlinked: number;
  collections: Record<string, { deleted: number; unlinked: number }>;
}

/** Indexes on every link field not already leading an index, so finding a person's documents never scans. */
export function linkIndexes(collection: CollectionDefinition): IndexDefinition[] {
  const leading = new Set(collection.indexes.map((i) => i.keys[0]?.[0]));
  return (collection.erasure?.links ?? []).filter((f) => !leading.has(f)).map((f) => ({ name: `link_${f}`, keys: [[f, 1]] }));
}

/** The document with every link to `subjectId` nulled; when it is the document's own subject, also its personal fields and blind indexes. */
function scrub(collection: CollectionDefinition, rule: ErasureRule, document: Document, subjectId: string, own: boolean): Document {
  const next: Document = { ...document };
  for (const link of rule.links) if (next[link] === subjectId) next[link] = null;
  if (own) {
    for (const { field } of personalFields(collection)) if (next[field] !== undefined) next[field] = null;
    delete next[BLIND_FIELD];
  }
  return rule.derive ? { ...rule.derive(next), _id: document._id } : next;
}

/** Scrubs one person from every collection of one generation of a view; answers what it did. */
export async function forgetSubject(options: {
  view: ViewDefinition;
  readStore: ReadStore;
  collectionName(collection: string): string;
  subjectId: string;
}): Promise<ErasureCounts> {
  const { view, readStore, collectionName, subjectId } = options;
  const counts: ErasureCounts = { deleted: 0, unlinked: 0, collections: {} };
  for (const collection of Object.values(view.collections)) {
    const rule = collection.erasure;
    if (!rule || rule.links.length === 0) continue;
    const physical = collectionName(collection.name);
    const ownField = ownSubjectField(collection);
    const filter = rule.links.length === 1 ? { [rule.links[0]!]: subjectId } : { $or: rule.links.map((f) => ({ [f]: subjectId })) };
    const found: Document[] = [];
    let cursor: string | undefined;
    do {
      const page = await readStore.find(physical, { filter, limit: 1000, ...(cursor ? { cursor } : {}) });
      found.push(...page.documents);
      cursor = page.nextCursor;
    } while (cursor);
    const deleted: string[] = [];
    const updated: Document[] = [];
    for (const document of found) {
      const own = document[ownField] === subjectId;
      if (own && rule.own === 'delete') deleted.push(document._id);
      else updated.push(scrub(collection, rule, document, subjectId, own));
    }
    if (updated.length > 0) await readStore.upsert(physical, updated);
    if (deleted.length > 0) await readStore.delete(physical, deleted);
    counts.collections[collection.name] = { deleted: deleted.length, unlinked: updated.length };
    counts.deleted += deleted.length;
    counts.unlinked += updated.length;
  }
  return counts;
}

/**
 * A document about to be written whose own subject is already forgotten: 'delete' (don't
 * write it; delete what is stored), or the scrubbed document. Otherwise the document as is.
 */
export async function scrubForErasedOwner(keyring: Keyring, collection: CollectionDefinition, document: Document): Promise<Document | 'delete'> {
  const rule = collection.erasure;
  if (!rule) return document;
  const owner = document[ownSubjectField(collection)];
  if (typeof owner !== 'string' || !(await keyring.isErased(owner))) return document;
  return rule.own === 'delete' ? 'delete' : scrub(collection, rule, document, owner, true);
}
