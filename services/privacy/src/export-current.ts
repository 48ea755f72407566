/**
 * The `current` part of a subject export: the latest value of every field of each of the
 * subject's records (a stream), folded from the exported events in position order. Consents
 * are kept per purpose, an objection apart. Items that are only ever added and never
 * rectified (case notes, absences) are not repeated here: each is in `records` once, so the
 * fold stays as small as the number of records, whatever the length of the history.
 */
import type { CurrentRecord } from '@crm/contracts';
import type { SubjectEvent } from './export-event.ts';

/** Events that add one item to a record rather than change it. */
const ADDED_ITEMS: ReadonlySet<string> = new Set(['CaseNoteAdded', 'AbsenceRecorded']);

/** Events folded into an item of their record of their own. */
function itemOf(event: SubjectEvent): string | undefined {
  const { type } = event.entry;
  if (type === 'ConsentGiven' || type === 'ConsentWithdrawn') return `consent:${String(event.data.purpose)}`;
  if (type === 'DirectMarketingObjected') return 'objection';
  return undefined;
}

interface Folded {
  streamId: string;
  item: string | undefined;
  lastEvent: string;
  position: number;
  updatedAt: string;
  values: Map<string, { value: unknown; position: number }>;
}

export class CurrentValues {
  private readonly records = new Map<string, Folded>();

  fold(event: SubjectEvent): void {
    const { entry } = event;
    if (ADDED_ITEMS.has(entry.type) || entry.fields.length === 0) return;
    const item = itemOf(event);
    const key = `${entry.streamId}\u0000${item ?? ''}`;
    let record = this.records.get(key);
    if (!record) {
      record = { streamId: entry.streamId, item, lastEvent: entry.type, position: entry.position, updatedAt: entry.recordedAt, values: new Map() };
      this.records.set(key, record);
    }
    // Related events are folded after the others: a field keeps the value of its latest event.
    if (entry.position >= record.position) {
      record.lastEvent = entry.type;
      record.position = entry.position;
      record.updatedAt = entry.recordedAt;
    }
    for (const field of entry.fields) {
      const name = event.relative.get(field.path) ?? field.path;
      const held = record.values.get(name);
      if (!held || held.position <= entry.position) record.values.set(name, { value: field.value, position: entry.position });
    }
  }

  toJSON(): CurrentRecord[] {
    return [...this.records.values()]
      .sort((a, b) => a.streamId.localeCompare(b.streamId) || (a.item ?? '').localeCompare(b.item ?? ''))
      .map((r) => ({
        streamId: r.streamId,
        ...(r.item ? { item: r.item } : {}),
        lastEvent: r.lastEvent,
        position: r.position,
        updatedAt: r.updatedAt,
        values: Object.fromEntries([...r.values].map(([name, { value }]) => [name, value])),
      }));
  }
}
