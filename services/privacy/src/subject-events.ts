import type { EventStore, RecordedEvent } from '@crm/core';

const PAGE = 1000;

/**
 * Every event that carries data of the subject or links to them (its clear
 * `metadata.subjectIds` name them), of any stream, in global order, through the event
 * store's per-subject index.
 */
export async function eventsOfSubject(eventStore: EventStore, subjectId: string): Promise<RecordedEvent[]> {
  const found: RecordedEvent[] = [];
  let after = 0;
  for (;;) {
    const page = await eventStore.readBySubject(subjectId, { after, limit: PAGE });
    if (page.length === 0) return found;
    found.push(...page);
    after = page.at(-1)!.globalPosition;
  }
}
