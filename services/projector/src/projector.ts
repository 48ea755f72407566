/**
 * The projector runtime: consumes the bus in the view's own consumer group, opens each
 * event with the keyring, hands it to the view's pure `evolve`, and applies the changes to
 * the read store with personal fields sealed per document (see sealing.ts).
 *
 * Idempotence: views guard each document with `_position`, so an event delivered again (the
 * bus is at-least-once; a crash may fall between the write and the offset commit) changes
 * nothing, and an unchanged document is not written at all.
 */
import { eventContract } from '@crm/contracts';
import { type BusConsumer, type Document, type Keyring, openEvent, type ReadStore, type RecordedEvent } from '@crm/core';
import type { DomainEvent } from '@crm/domain';
import { type CollectionDefinition, type DocumentChange, isLookup, type ProjectedEvent, type ViewDefinition } from '@crm/projections';
import { openDocument, sealDocument } from './sealing.ts';

export interface ProjectorOptions {
  view: ViewDefinition;
  readStore: ReadStore;
  consumer: BusConsumer;
  keyring: Keyring;
  /** Consumer group; default `projector:<view.name>:v<view.version>`. */
  group?: string;
  /** Stops consuming; `runProjector` resolves once the event in hand is finished. */
  signal: AbortSignal;
  /** The read store's name for a collection's logical name (e.g. to rebuild into new collections). Default: `defaultCollectionName(view)`. */
  collectionName?: (collection: string) => string;
}

/**
 * Read stores take names of a letter then letters, digits or `_`: `service/case-notes` of
 * version 1 is stored as `service_case_notes_v1`, so a new version rebuilds beside the old.
 */
export const defaultCollectionName =
  (view: Pick<ViewDefinition, 'version'>) =>
  (collection: string): string =>
    `${collection.replace(/[^A-Za-z0-9]+/g, '_')}_v${view.version}`;

export const projectorGroup = (view: Pick<ViewDefinition, 'name' | 'version'>): string => `projector:${view.name}:v${view.version}`;

export interface ViewProjection {
  /** Applies one recorded event to the read store (idempotent). */
  project(recorded: RecordedEvent): Promise<void>;
  /** Creates the indexes of every collection of the view. */
  ensureIndexes(): Promise<void>;
}

/** The collection definitions of a view by logical name. */
function collectionsByName(view: ViewDefinition): Map<string, CollectionDefinition> {
  return new Map(Object.values(view.collections).map((c) => [c.name, c]));
}

export function createViewProjection(options: Omit<ProjectorOptions, 'consumer' | 'signal' | 'group'>): ViewProjection {
  const { view, readStore, keyring } = options;
  const physical = options.collectionName ?? defaultCollectionName(view);
  const collections = collectionsByName(view);

  const definition = (name: string): CollectionDefinition => {
    const found = collections.get(name);
    if (!found) throw new Error(`View ${view.name} has no collection ${name}`);
    return found;
  };

  /** Reads a document and opens its personal fields. */
  const read = async (collection: string, id: string): Promise<Document | undefined> => {
    const stored = await readStore.get(physical(collection), id);
    return stored && openDocument(keyring, { view: view.name, collection: definition(collection) }, stored);
  };

  return {
    async ensureIndexes() {
      for (const collection of collections.values()) await readStore.ensureIndexes(physical(collection.name), collection.indexes);
    },

    async project(recorded) {
      // Types without a contract (e.g. probes) carry nothing for a view.
      if (!eventContract(recorded.type)) return;
      const opened = await openEvent(recorded, keyring);
      const event = {
        type: opened.type,
        data: opened.data,
        globalPosition: recorded.globalPosition,
        streamVersion: recorded.streamVersion,
        recordedAt: recorded.recordedAt,
      } as DomainEvent as ProjectedEvent;
      const changes = view.evolve(event);
      if (changes.length === 0) return;

      // Lookups see the documents as they stood before any change of this event.
      const resolved: DocumentChange[] = [];
      for (const change of changes) {
        if (isLookup(change)) resolved.push(...change.then(await read(change.lookup.collection, change.lookup.id)));
        else resolved.push(change);
      }

      // Changes of one event apply in order; a document touched twice sees the first result.
      const key = (collection: string, id: string) => `${collection}\u0000${id}`;
      const working = new Map<string, { collection: string; id: string; before: Document | undefined; after: Document | undefined }>();
      for (const change of resolved) {
        const k = key(change.collection, change.id);
        let entry = working.get(k);
        if (!entry) {
          const before = await read(change.collection, change.id);
          entry = { collection: change.collection, id: change.id, before, after: before };
          working.set(k, entry);
        }
        entry.after = change.apply(entry.after);
      }

      for (const { collection, id, before, after } of working.values()) {
        if (after === before) continue; // guarded by `_position` or otherwise unchanged
        if (after === undefined) {
          await readStore.delete(physical(collection), [id]);
        } else {
          const document = after._id === id ? after : { ...after, _id: id };
          const sealed = await sealDocument(keyring, { view: view.name, collection: definition(collection) }, document);
          await readStore.upsert(physical(collection), [sealed]);
        }
      }
    },
  };
}

/**
 * Runs the view's projector until `signal` aborts: ensures indexes, then consumes the bus
 * group. Resolves once consumption stopped; rejects on a fatal error of the consumer.
 */
export async function runProjector(options: ProjectorOptions): Promise<void> {
  const projection = createViewProjection(options);
  await projection.ensureIndexes();
  if (options.signal.aborted) return;
  await options.consumer.consume({
    group: options.group ?? projectorGroup(options.view),
    signal: options.signal,
    handle: (event) => projection.project(event),
  });
}
