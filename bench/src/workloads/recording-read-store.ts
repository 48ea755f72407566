/**
 * A ReadStore decorator for the view-rebuild workload: delegates every call to the real store
 * and, for the collections it is told to watch (one view generation's), records the shape of
 * every write as it was made — which collection, which document ids, in which call — plus the
 * indexes asked for, how many reads were made, and the wall time spent awaiting writes and reads. It keeps ids only, never the documents, so
 * recording neither slows the timed rebuild (a push of an id list per call) nor holds a second
 * copy of the generation in memory (which would inflate the rebuild's RSS and its GC work).
 *
 * The raw baseline (`planReplay` + `replay`) then makes the same calls again — same
 * collections, same number of upserts with the same ids in the same order, same deletes — with
 * the documents as the rebuild left them in the store (read back, sealed, untimed).
 */
import type { Document, IndexDefinition, ReadStore } from '@crm/core';

export interface RecordedWrite {
  op: 'upsert' | 'delete';
  collection: string;
  ids: readonly string[];
}

export interface WriteCounts {
  upsertCalls: number;
  documentsUpserted: number;
  deleteCalls: number;
  idsDeleted: number;
  /** `find` calls on watched collections (the projector reads the documents a run touches). */
  findCalls: number;
  /** Wall time spent awaiting the store's upserts and deletes, and its finds, on watched collections. */
  writeSeconds: number;
  findSeconds: number;
}

export interface RecordingReadStore extends ReadStore {
  readonly writes: RecordedWrite[];
  /** The indexes asked for on each watched collection (`ensureIndexes`), for the raw baseline's collections. */
  readonly indexes: Map<string, IndexDefinition[]>;
  /** Every watched collection written to or indexed. */
  collectionsTouched(): string[];
  counts(): WriteCounts;
}

/**
 * Wraps `store`; writes to collections for which `watched(name)` is true are recorded.
 * `observe`, when given, is called at every write and read (e.g. to sample memory between
 * the projector's steps).
 */
export function recordingReadStore(store: ReadStore, watched: (collection: string) => boolean, observe: () => void = () => {}): RecordingReadStore {
  const writes: RecordedWrite[] = [];
  const indexes = new Map<string, IndexDefinition[]>();
  const touched = new Set<string>();
  let findCalls = 0;
  let writeMs = 0;
  let findMs = 0;
  /** Awaits `call`, adding its wall time to the total `add` keeps. */
  const timed = async <T>(call: () => Promise<T>, add: (ms: number) => void): Promise<T> => {
    const started = performance.now();
    try {
      return await call();
    } finally {
      add(performance.now() - started);
    }
  };
  return {
    writes,
    indexes,
    collectionsTouched: () => [...touched],
    counts: () => ({ ...countWrites(writes, findCalls), writeSeconds: writeMs / 1000, findSeconds: findMs / 1000 }),
    ensureIndexes(collection, definitions) {
      if (watched(collection)) {
        touched.add(collection);
        indexes.set(collection, [...(indexes.get(collection) ?? []), ...definitions]);
      }
      return store.ensureIndexes(collection, definitions);
    },
    upsert(collection, documents) {
      observe();
      if (!watched(collection)) return store.upsert(collection, documents);
      touched.add(collection);
      writes.push({ op: 'upsert', collection, ids: documents.map((d) => d._id) });
      return timed(() => store.upsert(collection, documents), (ms) => (writeMs += ms));
    },
    delete(collection, ids) {
      observe();
      if (!watched(collection)) return store.delete(collection, ids);
      touched.add(collection);
      writes.push({ op: 'delete', collection, ids: [...ids] });
      return timed(() => store.delete(collection, ids), (ms) => (writeMs += ms));
    },
    get: (collection, id) => store.get(collection, id),
    find(collection, options) {
      observe();
      if (!watched(collection)) return store.find(collection, options);
      findCalls++;
      return timed(() => store.find(collection, options), (ms) => (findMs += ms));
    },
    aggregate: (collection, pipeline) => store.aggregate(collection, pipeline),
    count: (collection, filter) => store.count(collection, filter),
    drop: (collection) => store.drop(collection),
    collections: () => store.collections(),
    close: () => store.close(),
  };
}

export function countWrites(writes: readonly RecordedWrite[], findCalls = 0): Omit<WriteCounts, 'writeSeconds' | 'findSeconds'> {
  const counts = { upsertCalls: 0, documentsUpserted: 0, deleteCalls: 0, idsDeleted: 0, findCalls };
  for (const w of writes) {
    if (w.op === 'upsert') {
      counts.upsertCalls++;
      counts.documentsUpserted += w.ids.length;
    } else {
      counts.deleteCalls++;
      counts.idsDeleted += w.ids.length;
    }
  }
  return counts;
}

/** Every document of a collection, as stored (paged by `_id`). */
export async function readAllDocuments(store: ReadStore, collection: string): Promise<Map<string, Document>> {
  const found = new Map<string, Document>();
  let cursor: string | undefined;
  do {
    const page = await store.find(collection, { limit: 1000, ...(cursor ? { cursor } : {}) });
    for (const document of page.documents) found.set(document._id, document);
    cursor = page.nextCursor;
  } while (cursor);
  return found;
}

export type ReplayCall =
  | { op: 'upsert'; collection: string; documents: Document[] }
  | { op: 'delete'; collection: string; ids: readonly string[] };

export interface ReplayPlan {
  calls: ReplayCall[];
  documents: number;
  /** Upserted ids the rebuild deleted again later: no final document, so left out of the raw upserts. */
  missing: number;
  /** JSON bytes of the documents the raw baseline upserts. */
  bytes: number;
}

/**
 * The raw baseline's calls, built before it is timed: every recorded call in order, an upsert
 * carrying the final stored document of each of its ids (`finals`), renamed into the raw
 * collections. A document the rebuild wrote more than once is written as often, in its final
 * form each time; one it deleted later has no final form and is left out (`missing`).
 */
export function planReplay(writes: readonly RecordedWrite[], finals: ReadonlyMap<string, ReadonlyMap<string, Document>>, rename: (collection: string) => string): ReplayPlan {
  const calls: ReplayCall[] = [];
  let documents = 0;
  let missing = 0;
  let bytes = 0;
  for (const w of writes) {
    if (w.op === 'delete') {
      calls.push({ op: 'delete', collection: rename(w.collection), ids: w.ids });
      continue;
    }
    const stored = finals.get(w.collection);
    const batch: Document[] = [];
    for (const id of w.ids) {
      const document = stored?.get(id);
      if (!document) {
        missing++;
        continue;
      }
      batch.push(document);
      bytes += Buffer.byteLength(JSON.stringify(document));
    }
    documents += batch.length;
    if (batch.length > 0) calls.push({ op: 'upsert', collection: rename(w.collection), documents: batch });
  }
  return { calls, documents, missing, bytes };
}

/** The raw baseline: the planned calls, one after the other, awaited as the projector awaits its writes. */
export async function replay(store: ReadStore, calls: readonly ReplayCall[]): Promise<void> {
  for (const call of calls) {
    if (call.op === 'upsert') await store.upsert(call.collection, call.documents);
    else await store.delete(call.collection, call.ids);
  }
}
