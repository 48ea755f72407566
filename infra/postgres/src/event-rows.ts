import type { RecordedEvent } from '@crm/core';

/** One row of the `events` table as node-postgres returns it (bigint as text, json parsed). */
export interface EventRow {
  global_position: string;
  event_id: string;
  stream_id: string;
  stream_version: string;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: RecordedEvent['metadata'];
  recorded_at: Date;
}

export const EVENT_COLUMNS =
  'global_position, event_id, stream_id, stream_version, type, schema_version, data, metadata, recorded_at';

export function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    eventId: row.event_id,
    type: row.type,
    schemaVersion: row.schema_version,
    data: row.data,
    metadata: row.metadata,
    streamId: row.stream_id,
    // bigint in SQL; exact as a number up to 2^53, far beyond any event count.
    streamVersion: Number(row.stream_version),
    globalPosition: Number(row.global_position),
    recordedAt: row.recorded_at.toISOString(),
  };
}
