/**
 * Applies runs of recorded events to one generation of a view in the read store: opens each
 * event, hands it to the view's pure `evolve`, applies the changes to a working set of the
 * documents they touch, and writes each changed document once per run (bulk upserts and
 * deletes per collection). A run of 2,000 events that touches a customer ten times writes
 * that customer once.
 *
 * Stored personal fields stay sealed in the working set: `evolve` keeps or replaces them and
 * never reads them (views read only non-personal fields of stored documents), so nothing is
 * opened that is not about to be written, and only new plaintext is sealed.
 *
 * Idempotent: `evolve` guards every document with `_position`, and every document is owned
 * by one stream, so a run delivered again (at-least-once bus, a crash between the write and
 * the checkpoint) changes nothing.
 */
import { eventContract } from '@crm/contracts';
import { type Document, type Keyring, openEvent, type ReadStore, type RecordedEvent } from '@crm/core';
import type { DomainEvent } from '@crm/domain';
import { type CollectionDefinition, type DocumentChange, isLookup, type ProjectedEvent, type ViewDefinition } from '@crm/projections';
import { type ErasureCounts, ERASURES_COLLECTION, forgetSubject, linkIndexes, scrubForErasedOwner } from './erasure.ts';
import { type BlindIndexer, sealDocument } from './sealing.ts';

export interface ViewProjectionOptions {
  view: ViewDefinition;
  readStore: ReadStore;
  keyring: Keyring;
  /** The read store's name of a logical collection in the generation being written. */
  collectionName(collection: string): string;
  /** Blind indexes of the view's blind-indexed personal fields; none when absent. */
  blindIndex?: BlindIndexer;
  /**
   * The generation was empty when this projection began, and only it writes there (a build):
   * it remembers which documents it wrote, and does not ask the store for any other.
   */
  building?: boolean;
}

export interface ViewProjection {
  /** Applies a run of events, in order, to the read store (idempotent). */
  project(events: readonly RecordedEvent[]): Promise<void>;
  /** Creates the indexes of every collection of the view. */
  ensureIndexes(): Promise<void>;
}

/** Most document keys a build remembers (about 100 bytes each) before it falls back to reading. */
const WRITTEN_LIMIT = 250_000;

/** `$in` lists per read: both read stores take up to 1,000 documents a page. */
const READ_CHUNK = 1000;

interface Slot {
  collection: string;
  id: string;
  stored: Document | undefined;
  current: Document | undefined;
}

export function createViewProjection(options: ViewProjectionOptions): ViewProjection {
  const { view, readStore, keyring, collectionName } = options;
  const collections = new Map<string, CollectionDefinition>(Object.values(view.collections).map((c) => [c.name, c]));
  const definition = (name: string): CollectionDefinition => {
    const found = collections.get(name);
    if (!found) throw new Error(`View ${view.name} has no collection ${name}`);
    return found;
  };
  const slotKey = (collection: string, id: string) => `${collection}\u0000${id}`;
  /**
   * Building: every document written so far (collection and id), so reads skip the ones that
   * cannot exist. Past `WRITTEN_LIMIT` entries it is dropped and reads ask the store again,
   * so a very large build keeps its memory bounded.
   */
  let written = options.building ? new Set<string>() : undefined;
  const remember = (key: string) => {
    if (!written) return;
    written.add(key);
    if (written.size > WRITTEN_LIMIT) written = undefined;
  };

  /** Loads the stored form of every document not yet in `slots`. */
  async function load(slots: Map<string, Slot>, wanted: ReadonlyArray<{ collection: string; id: string }>): Promise<void> {
    const missing = new Map<string, Set<string>>();
    for (const { collection, id } of wanted) {
      if (slots.has(slotKey(collection, id))) continue;
      definition(collection);
      let ids = missing.get(collection);
      if (!ids) missing.set(collection, (ids = new Set()));
      ids.add(id);
    }
    for (const [collection, idSet] of missing) {
      // Building: a document this build never wrote does not exist; no need to ask the store.
      const known = written;
      const ids = known ? [...idSet].filter((id) => known.has(slotKey(collection, id))) : [...idSet];
      if (known) for (const id of idSet) if (!known.has(slotKey(collection, id))) slots.set(slotKey(collection, id), { collection, id, stored: undefined, current: undefined });
      const found = new Map<string, Document>();
      for (let i = 0; i < ids.length; i += READ_CHUNK) {
        const chunk = ids.slice(i, i + READ_CHUNK);
        const page = await readStore.find(collectionName(collection), { filter: { _id: { $in: chunk } }, limit: chunk.length });
        for (const document of page.documents) found.set(document._id, document);
      }
      for (const id of ids) {
        const stored = found.get(id);
        slots.set(slotKey(collection, id), { collection, id, stored, current: stored });
      }
    }
  }

  const targetsOf = (changes: readonly (DocumentChange | { lookup: { collection: string; id: string } })[]) =>
    changes.map((c) => ('lookup' in c ? c.lookup : c));

  return {
    async ensureIndexes() {
      for (const collection of collections.values())
        await readStore.ensureIndexes(collectionName(collection.name), [...collection.indexes, ...linkIndexes(collection)]);
    },

    async project(events) {
      // Privacy events are barriers: what came before is written first. `SubjectForgotten` then scrubs the
    // person from every collection; a restriction (Art. 18) is noted in the generation's restricted
    // subjects, which every query of the view leaves out until it is lifted.
      let from = 0;
      for (let i = 0; i < events.length; i++) {
        const event = events[i]!;
        if (!PRIVACY_BARRIERS.has(event.type)) continue;
        await projectRun(events.slice(from, i));
        from = i + 1;
        const subjectId = ((await openEvent(event, keyring)).data as { subjectId?: unknown }).subjectId;
        if (typeof subjectId !== 'string') continue;
        const restricted = collectionName(restrictedSubjectsCollection(view));
        if (event.type === SUBJECT_FORGOTTEN) {
          const counts = await forgetSubject({ view, readStore, collectionName, subjectId });
          await recordErasure(subjectId, event.globalPosition, counts);
          await readStore.delete(restricted, [subjectId]);
        } else if (event.type === PROCESSING_RESTRICTED) {
          await readStore.upsert(restricted, [{ _id: subjectId, since: event.recordedAt, position: event.globalPosition, pseudonym: view.pseudonymise?.(subjectId) ?? null }]);
        } else {
          await readStore.delete(restricted, [subjectId]);
        }
      }
      await projectRun(from === 0 ? events : events.slice(from));
    },
  };

  /** What the scrub did, for the erasure receipt: one document per subject and view (a rebuild writes it again). */
  async function recordErasure(subjectId: string, position: number, counts: ErasureCounts): Promise<void> {
    await readStore.upsert(ERASURES_COLLECTION, [{ _id: `${subjectId}:${view.name}`, view: view.name, subjectId, position, ...counts }]);
  }

  async function projectRun(events: readonly RecordedEvent[]): Promise<void> {
    // 1. Open and evolve every event of the run (types without a contract carry nothing for a view).
    const evolved = [];
    for (const recorded of events) {
      // Only what the view uses is opened and evolved (and types without a contract carry nothing for a view).
      if (!view.eventTypes.has(recorded.type) || !eventContract(recorded.type)) continue;
      const opened = await openEvent(recorded, keyring);
      const event = {
        type: opened.type,
        data: opened.data,
        globalPosition: recorded.globalPosition,
        streamVersion: recorded.streamVersion,
        recordedAt: recorded.recordedAt,
      } as DomainEvent as ProjectedEvent;
      const changes = view.evolve(event);
      if (changes.length > 0) evolved.push(changes);
    }
    if (evolved.length === 0) return;

    // 2. Read every document the run names, in one query per collection and chunk.
    const slots = new Map<string, Slot>();
    await load(slots, evolved.flatMap(targetsOf));

    // 3. Apply in order. Each event's lookups are resolved before any of its own changes
    //    apply, so they see the documents as they stood before the event.
    for (const changes of evolved) {
      const resolved: DocumentChange[] = [];
      for (const change of changes) {
        if (!isLookup(change)) {
          resolved.push(change);
          continue;
        }
        const then = change.then(slots.get(slotKey(change.lookup.collection, change.lookup.id))!.current);
        await load(slots, then);
        resolved.push(...then);
      }
      for (const change of resolved) {
        const slot = slots.get(slotKey(change.collection, change.id))!;
        slot.current = change.apply(slot.current);
      }
    }

    // 4. Write each changed document once: bulk per collection.
    const upserts = new Map<string, Document[]>();
    const deletes = new Map<string, string[]>();
    for (const slot of slots.values()) {
      if (slot.current === slot.stored) continue; // guarded by `_position` or otherwise unchanged
      if (slot.current === undefined) {
        if (slot.stored === undefined) continue;
        (deletes.get(slot.collection) ?? deletes.set(slot.collection, []).get(slot.collection)!).push(slot.id);
        continue;
      }
      let document = slot.current._id === slot.id ? slot.current : { ...slot.current, _id: slot.id };
      // A late or replayed event of a person already forgotten: the erasure rule applies on write too.
      const place = definition(slot.collection);
      const scrubbed = await scrubForErasedOwner(keyring, place, document);
      if (scrubbed === 'delete') {
        if (slot.stored !== undefined) (deletes.get(slot.collection) ?? deletes.set(slot.collection, []).get(slot.collection)!).push(slot.id);
        continue;
      }
      document = scrubbed;
      const sealed = await sealDocument(keyring, { view: view.name, collection: place }, document, options.blindIndex);
      (upserts.get(slot.collection) ?? upserts.set(slot.collection, []).get(slot.collection)!).push(sealed);
    }
    for (const [collection, documents] of upserts) {
      await readStore.upsert(collectionName(collection), documents);
      for (const document of documents) remember(slotKey(collection, document._id));
    }
    for (const [collection, ids] of deletes) {
      await readStore.delete(collectionName(collection), ids);
      for (const id of ids) written?.delete(slotKey(collection, id));
    }
  }
}

/** The event a forget-me request publishes (Art. 17(2)); the projector scrubs every view on it. */
export const SUBJECT_FORGOTTEN = 'SubjectForgotten';
export const PROCESSING_RESTRICTED = 'ProcessingRestricted';
export const RESTRICTION_LIFTED = 'RestrictionLifted';
/** The privacy events every view acts on, whatever event types it declares. */
export const PRIVACY_BARRIER_TYPES = [SUBJECT_FORGOTTEN, PROCESSING_RESTRICTED, RESTRICTION_LIFTED] as const;
const PRIVACY_BARRIERS: ReadonlySet<string> = new Set(PRIVACY_BARRIER_TYPES);

/** The logical name of a view generation's list of restricted subjects (kept beside its collections). */
export const restrictedSubjectsCollection = (view: Pick<ViewDefinition, 'name'>): string => `${view.name}/restricted-subjects`;
