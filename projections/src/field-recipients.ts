/**
 * Which view fields a value of an event reaches, and which roles may read it there: what a
 * data-subject export (Art. 15(1)(c), recipients) and the record of processing state.
 *
 * Views are code (`evolve`), not a declarative mapping, so the answer is found by running
 * them: each view projects the event once as it is and once per field with that field's
 * value replaced by null (the value an erased field reads, which every view accepts), and
 * every document field that differs between the two depends on the value, copied or
 * derived (an age band from a date of birth, a region from an address). Documents start as
 * if they already existed, so updates of existing documents count as well as creations.
 */
import type { Role } from '@crm/contracts';
import { readPath, writePath } from '@crm/contracts';
import type { Document } from '@crm/core';
import { type Change, type CollectionDefinition, isLookup, type ProjectedEvent, type ViewDefinition } from './view.ts';

export interface FieldRecipient {
  view: string;
  /** The logical collection, e.g. `service/customers`. */
  collection: string;
  /** The document field the value (or something derived from it) is written to. */
  field: string;
  /** The roles allowed to read that field (its allow-list). */
  roles: Role[];
}

const INTERNAL_FIELDS = new Set(['_id', '_position']);

/** The documents one event writes, each starting from a document that exists with only its id. */
function projectAlone(view: ViewDefinition, event: ProjectedEvent): Map<string, Document> {
  const documents = new Map<string, Document>();
  const changes: Change[] = view.evolve(event);
  for (const change of changes) {
    const resolved = isLookup(change) ? change.then({ _id: change.lookup.id }) : [change];
    for (const c of resolved) {
      const key = `${c.collection}\u0000${c.id}`;
      const next = c.apply(documents.get(key) ?? { _id: c.id });
      documents.set(key, next ?? { _id: c.id });
    }
  }
  return documents;
}

function collectionNamed(view: ViewDefinition, name: string): CollectionDefinition | undefined {
  return Object.values(view.collections).find((c) => c.name === name);
}

/**
 * The document fields that differ between the two projections. A value that is a document's
 * key (an id) moves the document rather than changing it: there, the fields of the original
 * document that hold the value count.
 */
function differences(view: ViewDefinition, before: Map<string, Document>, after: Map<string, Document>, value: unknown): FieldRecipient[] {
  const found = new Map<string, FieldRecipient>();
  const add = (collection: string, field: string) => {
    const roles = collectionNamed(view, collection)?.fields[field]?.roles ?? [];
    found.set(`${collection}.${field}`, { view: view.name, collection, field, roles: [...roles] });
  };
  const needle = typeof value === 'string' || typeof value === 'number' ? JSON.stringify(value) : undefined;
  for (const [key, a] of before) {
    const collection = key.slice(0, key.indexOf('\u0000'));
    const b = after.get(key);
    if (!b) {
      if (needle === undefined) continue;
      for (const [field, held] of Object.entries(a)) if (!INTERNAL_FIELDS.has(field) && JSON.stringify(held)?.includes(needle)) add(collection, field);
      continue;
    }
    for (const field of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (!INTERNAL_FIELDS.has(field) && JSON.stringify(a[field]) !== JSON.stringify(b[field])) add(collection, field);
    }
  }
  return [...found.values()];
}

/** When a view cannot project the event with the value nulled: the fields of its collections named like the value. */
function byName(view: ViewDefinition, path: string): FieldRecipient[] {
  const name = path.split('.').at(-1) ?? path;
  return Object.values(view.collections).flatMap((c) => {
    const policy = c.fields[name];
    return policy ? [{ view: view.name, collection: c.name, field: name, roles: [...policy.roles] }] : [];
  });
}

/**
 * For each concrete path of `event.data` (e.g. `email`, `contacts.1.name`), the view fields
 * its value reaches. A view that does not project the event at all reaches nothing.
 */
export function fieldRecipients(views: readonly ViewDefinition[], event: ProjectedEvent, paths: readonly string[]): Map<string, FieldRecipient[]> {
  const result = new Map<string, FieldRecipient[]>(paths.map((p) => [p, []]));
  for (const view of views) {
    let baseline: Map<string, Document>;
    try {
      baseline = projectAlone(view, event);
    } catch {
      continue; // a view that cannot take this event on its own takes nothing of it
    }
    if (baseline.size === 0) continue;
    for (const path of paths) {
      const data = structuredClone(event.data) as Record<string, unknown>;
      const value = readPath(data, path);
      writePath(data, path, null);
      let recipients: FieldRecipient[];
      try {
        recipients = differences(view, baseline, projectAlone(view, { ...event, data } as ProjectedEvent), value);
      } catch {
        recipients = byName(view, path);
      }
      result.get(path)!.push(...recipients);
    }
  }
  return result;
}
