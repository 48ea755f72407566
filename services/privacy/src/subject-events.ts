import type { EventStore, RecordedEvent } from '@crm/core';

const PAGE = 1000;
const SCAN_PAGE = 5000;

interface SubjectIndexedStore {
  readBySubject(subjectId: string, options?: { after?: number; limit?: number }): Promise<RecordedEvent[]>;
}

// Not every adapter has the per-subject index yet: asked for at run time, not by type.
const subjectIndexOf = (store: EventStore): SubjectIndexedStore | undefined =>
  typeof (store as Partial<SubjectIndexedStore>).readBySubject === 'function' ? (store as unknown as SubjectIndexedStore) : undefined;

/**
 * Every event that carries data of the subject or links to them (its clear
 * `metadata.subjectIds` name them), of any stream, in global order: through the store's
 * per-subject index where the adapter has one, else by reading the whole log once.
 */
export async function eventsOfSubject(eventStore: EventStore, subjectId: string): Promise<RecordedEvent[]> {
  const found: RecordedEvent[] = [];
  const indexed = subjectIndexOf(eventStore);
  let after = 0;
  for (;;) {
    const page = indexed ? await indexed.readBySubject(subjectId, { after, limit: PAGE }) : await eventStore.readAll({ after, limit: SCAN_PAGE });
    if (page.length === 0) return found;
    for (const event of page) if (event.metadata.subjectIds.includes(subjectId)) found.push(event);
    after = page.at(-1)!.globalPosition;
  }
}
