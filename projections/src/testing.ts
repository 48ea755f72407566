/** Test helpers: run events through a view into an in-memory store, and check documents against the policy. */
import type { Document } from '@crm/core';
import type { ProjectedEvent, ViewDefinition } from './view.ts';
import { applyChanges } from './view.ts';

export type Store = Map<string, Document>;

export function recorder() {
  let position = 0;
  return (type: string, data: unknown, recordedAt = '2025-03-15T10:00:00.000Z'): ProjectedEvent => ({
    type,
    data,
    globalPosition: ++position,
    streamVersion: 1,
    recordedAt,
  });
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
