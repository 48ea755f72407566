/** Test helpers: run events through a view into an in-memory store, and check documents against the policy. */
import type { Document } from '@crm/core';
import type { ProjectedEvent, ViewDefinition } from './view.ts';
import { applyChanges } from './view.ts';

export type Store = Map<string, Document>;

/** A fixture event also names its stream, as the event store records it (the projector does not pass it to `evolve`). */
export type StreamEvent = ProjectedEvent & { streamId: string };

/** Records events as the store would: global positions in order, versions counted per stream. */
export function recorder() {
  let position = 0;
  const versions = new Map<string, number>();
  return (streamId: string, type: string, data: unknown, recordedAt = '2025-03-15T10:00:00.000Z'): StreamEvent => {
    const streamVersion = (versions.get(streamId) ?? 0) + 1;
    versions.set(streamId, streamVersion);
    return { streamId, type, data, globalPosition: ++position, streamVersion, recordedAt };
  };
}

export function project(view: ViewDefinition, events: readonly ProjectedEvent[], store: Store = new Map()): Store {
  for (const event of events) applyChanges(store, view.evolve(event));
  return store;
}

export const docs = (store: Store, collection: string) =>
  [...store.entries()].filter(([k]) => k.startsWith(`${collection}/`)).map(([, d]) => d);

export const get = (store: Store, collection: string, id: string) => store.get(`${collection}/${id}`);

/** Fields of documents that their collection does not declare, as `collection.field`. */
export function undeclaredFields(view: ViewDefinition, store: Store): string[] {
  const byName = new Map(Object.values(view.collections).map((c) => [c.name, c]));
  const out: string[] = [];
  for (const [key, doc] of store) {
    const name = key.slice(0, key.lastIndexOf('/'));
    const def = byName.get(name);
    if (!def) out.push(`${name} (undeclared collection)`);
    else for (const f of Object.keys(doc)) if (!(f in def.fields)) out.push(`${name}.${f}`);
  }
  return out;
}

/** Each event delivered twice in a row (an at-least-once redelivery) must give the same documents as once. */
export function projectTwice(view: ViewDefinition, events: readonly ProjectedEvent[]): Store {
  const store: Store = new Map();
  for (const event of events) {
    applyChanges(store, view.evolve(event));
    applyChanges(store, view.evolve(event));
  }
  return store;
}
