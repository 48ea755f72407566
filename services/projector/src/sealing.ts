/**
 * Sealing of personal fields inside read-model documents. Each personal field (a top-level
 * field whose FieldPolicy has `personal`) is stored as `{ _sealed: <base64url> }` (no `$`: MongoDB refuses keys that start with one), sealed under
 * the key of the subject named by the document's `personal.subjectField`. The associated data
 * binds view, collection, document id and field, so a sealed value cannot be moved to another
 * document or field. null stays null; a destroyed (or unknown) key reads, and writes, as null.
 */
import { SealBroken } from '@crm/contracts';
import { ERASED_VALUE, type Document, type Keyring, openValue, sealValue, type SubjectKey } from '@crm/core';
import type { CollectionDefinition } from '@crm/projections';

export const SEALED_FIELD = '_sealed';

export interface SealedField {
  _sealed: string;
}

export function isSealedField(value: unknown): value is SealedField {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length === 1 &&
    typeof (value as Record<string, unknown>)[SEALED_FIELD] === 'string'
  );
}

/** Where a document lives: the view's name and the collection's logical name (CollectionDefinition.name). */
export interface DocumentPlace {
  view: string;
  collection: CollectionDefinition;
}

/** The string bound into every seal of one document (passed as sealValue's `eventId`). */
export const documentSealContext = (view: string, collection: string, id: string): string => `${view}/${collection}/${id}`;

/** The personal fields of a collection, with the field naming each one's subject. */
export function personalFields(collection: CollectionDefinition): Array<{ field: string; subjectField: string }> {
  return Object.entries(collection.fields).flatMap(([field, policy]) =>
    policy.personal ? [{ field, subjectField: policy.personal.subjectField }] : [],
  );
}

async function subjectKey(keyring: Keyring, subjectId: unknown): Promise<SubjectKey | undefined> {
  if (typeof subjectId !== 'string' || subjectId === '') return undefined;
  const found = await keyring.lookup(subjectId);
  return found.state === 'active' ? found.key : undefined;
}

/** Computes the blind index of a blind-indexed personal field's plaintext value. */
export type BlindIndexer = (field: string, value: string) => string;

/** Where blind indexes live in a stored document: `_blind.<field>`. */
export const BLIND_FIELD = '_blind';

/**
 * The store's form of a document: every plaintext personal field sealed (values already
 * sealed are kept as they are); erased (null) when the subject's key is destroyed or unknown,
 * or the document names no subject. A blind-indexed field sealed from a string also gets
 * `_blind.<field>`; one that is null or erased loses it. Never mutates `document`.
 */
export async function sealDocument(keyring: Keyring, place: DocumentPlace, document: Document, blindIndex?: BlindIndexer): Promise<Document> {
  const fields = personalFields(place.collection);
  if (fields.length === 0) return document;
  const sealed: Document = { ...document };
  const context = documentSealContext(place.view, place.collection.name, document._id);
  let blind: Record<string, string> | undefined;
  const blinded = () => (blind ??= { ...((document[BLIND_FIELD] as Record<string, string> | undefined) ?? {}) });
  for (const { field, subjectField } of fields) {
    const value = document[field];
    if (value === undefined || isSealedField(value)) continue;
    const indexed = blindIndex !== undefined && place.collection.fields[field]?.blindIndex === true;
    const key = value === null ? undefined : await subjectKey(keyring, document[subjectField]);
    if (!key) {
      sealed[field] = ERASED_VALUE;
      if (indexed) delete blinded()[field];
      continue;
    }
    sealed[field] = { [SEALED_FIELD]: sealValue(key, context, [field], Buffer.from(JSON.stringify(value), 'utf8')) };
    if (indexed) {
      if (typeof value === 'string') blinded()[field] = blindIndex(field, value);
      else delete blinded()[field];
    }
  }
  if (blind) {
    if (Object.keys(blind).length > 0) sealed[BLIND_FIELD] = blind;
    else delete sealed[BLIND_FIELD];
  }
  return sealed;
}

/**
 * The plaintext form of a stored document: every sealed personal field opened, or null when
 * the subject's key is destroyed or unknown. Throws SealBroken when an active key fails to
 * open a value (tampering, or a value moved from another document or field).
 */
export async function openDocument(keyring: Keyring, place: DocumentPlace, document: Document): Promise<Document> {
  const fields = personalFields(place.collection);
  if (fields.length === 0) return document;
  const opened: Document = { ...document };
  const context = documentSealContext(place.view, place.collection.name, document._id);
  for (const { field, subjectField } of fields) {
    const value = document[field];
    if (!isSealedField(value)) continue;
    const subjectId = document[subjectField];
    const key = await subjectKey(keyring, subjectId);
    if (!key || typeof subjectId !== 'string') {
      opened[field] = ERASED_VALUE;
      continue;
    }
    const plaintext = openValue(key, context, { subjectId, paths: [field], value: value._sealed });
    if (!plaintext) throw new SealBroken(`The sealed field ${field} of ${context} failed authentication`);
    opened[field] = JSON.parse(plaintext.toString('utf8')) as unknown;
  }
  return opened;
}
