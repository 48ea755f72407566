/**
 * Shared shapes of the read side (issue #4). A view is a pure `evolve` from one recorded
 * event to a list of document changes, plus a declaration of its collections: every field
 * with its role allow-list, which fields are personal (the projector runtime seals them
 * under the subject's key — never this code), which get a blind index, and the indexes.
 *
 * The one-stream rule. Every document is written by the events of exactly one stream, its
 * owner (a customer, a service case, a deal, an employee). The bus orders events only per
 * stream (Kafka partitions by stream id), never across streams; the per-document
 * `_position` guard skips any event older than the last one applied, which is correct only
 * when all of a document's events come in their recorded order, that is from one stream.
 * A document fed by two streams would silently drop whichever update arrives "late".
 * So:
 * - a change may target only documents owned by the stream of the event it came from;
 * - a `LookupChange` may read only such documents too (what another stream's document
 *   holds at that moment depends on how the partitions interleave);
 * - figures across streams (pipeline value, revenue per month, cases per channel…) are
 *   never kept as counters in a view: each entity's document carries the non-personal
 *   fields such a figure needs, and the figure is an aggregation pipeline at query time
 *   (see `SALES_KPIS`).
 * `one-stream.unit.spec.ts` checks the rule on the shared fixture history.
 */
import type { Role } from '@crm/contracts';
import type { Document, IndexDefinition } from '@crm/core';
import type { CustomerEvent, DealEvent, DomainEvent, EmployeeEvent, ServiceCaseEvent } from '@crm/domain';

/** An event as the projector hands it to `evolve`: opened (personal fields hold their value, or null once erased). */
export type ProjectedEvent = DomainEvent & { globalPosition: number; streamVersion: number; recordedAt: string };

/** Every event type the views know; others are ignored. */
export type KnownEvent = CustomerEvent | ServiceCaseEvent | DealEvent | EmployeeEvent;

/**
 * Who may read a field, and whether it is personal. Only a personal field can have a blind
 * index: the index is derived from the plaintext, so a non-personal field would gain
 * nothing from it, and one that should have been declared personal would be stored in clear.
 */
export type FieldPolicy = PlainFieldPolicy | PersonalFieldPolicy;

export interface PlainFieldPolicy {
  /** Allow-list: the roles that may read the field. Empty: internal, no role reads it. */
  roles: Role[];
  personal?: undefined;
  blindIndex?: undefined;
}

export interface PersonalFieldPolicy {
  /** Allow-list: the roles that may read the field. */
  roles: Role[];
  /** The field is personal data: stored sealed under the key of the subject named by `subjectField` of the same document. */
  personal: { subjectField: string };
  /** The runtime also stores an HMAC of `normaliseForBlindIndex(field, value)` at `_blind.<field>` for exact lookups. */
  blindIndex?: boolean;
}

export interface CollectionDefinition {
  name: string;
  /** Every top-level field a document of the collection may carry, `_id` and `subjectId` included. */
  fields: Record<string, FieldPolicy>;
  indexes: IndexDefinition[];
  /** What an erasure (`SubjectForgotten`) does to the collection's documents; none when absent (nothing links to a person). */
  erasure?: ErasureRule;
  /**
   * Fields holding the view's pseudonym of a subject (analytics): a restricted subject's
   * documents are found by them (Art. 18). Fields holding plain subject ids are `erasure.links`.
   */
  pseudonymousLinks?: readonly string[];
}

/**
 * How a collection forgets a person (Art. 17) once their key is destroyed. The document's
 * own subject is the one its personal fields are sealed under (`subjectField`, default
 * `subjectId`). Erasing it either deletes the document, or scrubs it: every personal field,
 * blind index and link to that person set to null, the non-personal facts kept (a won
 * deal's amount still counts in revenue). A link to an erased person who is not the
 * document's own subject (an account owner, an assigned agent) is set to null.
 */
export interface ErasureRule {
  /** Fields that hold a data subject's id: the document's own subject and links to others. */
  links: readonly string[];
  /** Erasing the document's own subject: delete it, or scrub it. */
  own: 'delete' | 'scrub';
  /** Recomputes fields derived from the links after a scrub (e.g. KPI group keys that contained an owner id). Pure. */
  derive?(document: Document): Document;
}

/** The field naming the subject whose key seals a collection's personal fields (`subjectId` when it has none). */
export function ownSubjectField(collection: CollectionDefinition): string {
  for (const policy of Object.values(collection.fields)) if (policy.personal) return policy.personal.subjectField;
  return 'subjectId';
}

/** A pure functional update of one document: `undefined` in = missing, `undefined` out = delete. */
export interface DocumentChange {
  collection: string;
  id: string;
  apply(current: Document | undefined): Document | undefined;
}

/**
 * A change that needs another document first (e.g. a consent joins a marketing list only
 * while the person's document shows no objection). The runtime reads `lookup` as it stood
 * before any change of the same event, then applies what `then` returns. `then` must be pure
 * too, and `lookup` must name a document of the event's own stream (the one-stream rule).
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
  /**
   * The event types `evolve` does anything with. The runtime neither opens nor evolves any
   * other: most events concern few views (HR reads only employees' events), and opening is
   * what a rebuild spends most on after writing.
   */
  eventTypes: ReadonlySet<string>;
  /** The view's pseudonym of a subject id, for views keyed by pseudonyms (analytics). */
  pseudonymise?(id: string): string;
}

/**
 * Each document records the global position of the last event applied to it. Positions of
 * one stream grow with its versions, so comparing them is sound for the owner's events.
 */
export const POSITION_FIELD = '_position';
/** Where the runtime stores blind indexes: `_blind.<field>`. */
export const blindIndexPath = (field: string) => `_blind.${field}`;

export const isLookup = (change: Change): change is LookupChange => 'lookup' in change;

/**
 * An idempotent update: events at or below the document's `_position` are ignored, so
 * replaying an event changes nothing. Correct because the document's events all come from
 * one stream, which the bus delivers in order (see the one-stream rule above).
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

/** 'YYYY-MM' of an ISO date or timestamp. */
export const monthOf = (isoDate: string): string => isoDate.slice(0, 7);

export const num = (value: unknown): number => (typeof value === 'number' ? value : 0);
export const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
/** A present field's new value (null when erased); absent fields stay as they were. */
export function patch(target: Record<string, unknown>, source: Record<string, unknown>, fields: readonly string[]): void {
  for (const f of fields) if (source[f] !== undefined) target[f] = source[f];
}

/**
 * How a blind-indexed value is normalised before the runtime HMACs it, so that a lookup
 * finds the document however the value was typed: an email trimmed and lower-cased; a phone
 * number reduced to its digits, with the leading `+` of an international number kept.
 */
const BLIND_INDEX_NORMALISERS: ReadonlyMap<string, (value: string) => string> = new Map([
  ['email', (value: string) => value.trim().toLowerCase()],
  [
    'phone',
    (value: string) => {
      const trimmed = value.trim();
      return (trimmed.startsWith('+') ? '+' : '') + trimmed.replace(/[^0-9]/g, '');
    },
  ],
]);

/** The fields a blind index can be declared on: those with a normalisation. */
export const BLIND_INDEXED_FIELDS: readonly string[] = [...BLIND_INDEX_NORMALISERS.keys()];

/**
 * The normalised form of a blind-indexed value. Throws for a field without a normalisation:
 * indexing raw input would make lookups miss silently.
 */
export function normaliseForBlindIndex(field: string, value: string): string {
  const normalise = BLIND_INDEX_NORMALISERS.get(field);
  if (!normalise) throw new Error(`No blind-index normalisation for field ${field}`);
  return normalise(value);
}
