/**
 * Shared shapes of the read side (issue #4). A view is a pure `evolve` from one recorded
 * event to a list of document changes, plus a declaration of its collections: every field
 * with its role allow-list, which fields are personal (the projector runtime seals them
 * under the subject's key — never this code), which get a blind index, and the indexes.
 */
import type { Role } from '@crm/contracts';
import type { Document, IndexDefinition } from '@crm/core';
import type { CustomerEvent, DealEvent, DomainEvent, EmployeeEvent, ServiceCaseEvent } from '@crm/domain';

/** An event as the projector hands it to `evolve`: opened (personal fields hold their value, or null once erased). */
export type ProjectedEvent = DomainEvent & { globalPosition: number; streamVersion: number; recordedAt: string };

/** Every event type the views know; others are ignored. */
export type KnownEvent = CustomerEvent | ServiceCaseEvent | DealEvent | EmployeeEvent;

export interface FieldPolicy {
  /** Allow-list: the roles that may read the field. Empty: internal, no role reads it. */
  roles: Role[];
  /** The field is personal data: stored sealed under the key of the subject named by `subjectField` of the same document. */
  personal?: { subjectField: string };
  /** The runtime also stores an HMAC of the (normalised) value at `_blind.<field>` for exact lookups. */
  blindIndex?: boolean;
}

export interface CollectionDefinition {
  name: string;
  /** Every top-level field a document of the collection may carry, `_id` and `subjectId` included. */
  fields: Record<string, FieldPolicy>;
  indexes: IndexDefinition[];
}

/** A pure functional update of one document: `undefined` in = missing, `undefined` out = delete. */
export interface DocumentChange {
  collection: string;
  id: string;
  apply(current: Document | undefined): Document | undefined;
}

/**
 * A change that needs another document first (e.g. `DealWon` names no owner: the KPI update
 * reads the deal's document). The runtime reads `lookup` as it stood before any change of the
 * same event, then applies what `then` returns. `then` must be pure too.
 */
export interface LookupChange {
  lookup: { collection: string; id: string };
  then(found: Document | undefined): DocumentChange[];
}

export type Change = DocumentChange | LookupChange;

export interface ViewDefinition {
  name: string;
  version: number;
  purpose: string;
  collections: Record<string, CollectionDefinition>;
  evolve(event: ProjectedEvent): Change[];
}

/** Each document records the global position of the last event applied to it. */
export const POSITION_FIELD = '_position';
/** Where the runtime stores blind indexes: `_blind.<field>`. */
export const blindIndexPath = (field: string) => `_blind.${field}`;

export const isLookup = (change: Change): change is LookupChange => 'lookup' in change;

/**
 * An idempotent update: events at or below the document's `_position` are ignored
 * (projection runs in global order), so replaying an event changes nothing.
 */
export function update(
  collection: string,
  id: string,
  position: number,
  fn: (current: Document | undefined) => Record<string, unknown> | undefined,
): DocumentChange {
  return {
    collection,
    id,
    apply(current) {
      const seen = current?.[POSITION_FIELD];
      if (current && typeof seen === 'number' && seen >= position) return current;
      const next = fn(current);
      return next === undefined ? undefined : { ...next, _id: id, [POSITION_FIELD]: position };
    },
  };
}

/** Deletes a document (idempotent: deleting a missing one is a no-op). */
export function remove(collection: string, id: string): DocumentChange {
  return { collection, id, apply: () => undefined };
}

/** Applies one event's changes to an in-memory map keyed `collection/id`: the reference semantics for the runtime. */
export function applyChanges(documents: Map<string, Document>, changes: readonly Change[]): void {
  const key = (collection: string, id: string) => `${collection}/${id}`;
  const before = new Map(documents);
  const resolved = changes.flatMap((c) => (isLookup(c) ? c.then(before.get(key(c.lookup.collection, c.lookup.id))) : [c]));
  for (const change of resolved) {
    const k = key(change.collection, change.id);
    const next = change.apply(documents.get(k));
    if (next === undefined) documents.delete(k);
    else documents.set(k, next);
  }
}

/** Adds `delta` to `map[key]` without mutating `map`; drops zero entries. */
export function addTo(map: unknown, key: string, delta: number): Record<string, number> {
  const next: Record<string, number> = { ...((map as Record<string, number> | undefined) ?? {}) };
  const value = (next[key] ?? 0) + delta;
  if (value === 0) delete next[key];
  else next[key] = value;
  return next;
}

export const num = (value: unknown): number => (typeof value === 'number' ? value : 0);
export const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
/** A present field's new value (null when erased); absent fields stay as they were. */
export function patch(target: Record<string, unknown>, source: Record<string, unknown>, fields: readonly string[]): void {
  for (const f of fields) if (source[f] !== undefined) target[f] = source[f];
}
