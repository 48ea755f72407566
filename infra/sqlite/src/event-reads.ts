import type Database from 'better-sqlite3';
import type { RecordedEvent, StoredIdempotentResult } from '@crm/core';
import { EVENT_COLUMNS, toRecordedEvent, type EventRow } from './event-rows.ts';

export interface EventReads {
  stream(streamId: string, afterVersion: number): RecordedEvent[];
  all(after: number, limit: number, types?: readonly string[]): RecordedEvent[];
  bySubject(subjectId: string, after: number, limit: number): RecordedEvent[];
  head(): number;
  idempotentResult(key: string): StoredIdempotentResult | undefined;
}

/** Prepared read statements. All reads see committed data only (WAL snapshot per statement). */
export function prepareEventReads(db: Database.Database): EventReads {
  const stream = db.prepare<[string, number], EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = ? AND stream_version > ? ORDER BY stream_version`,
  );
  const all = db.prepare<[number, number], EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM events WHERE global_position > ? ORDER BY global_position LIMIT ?`,
  );
  const allOfTypes = db.prepare<[number, string, number], EventRow>(
    `SELECT ${EVENT_COLUMNS} FROM events WHERE global_position > ? AND type IN (SELECT value FROM json_each(?)) ORDER BY global_position LIMIT ?`,
  );
  const bySubject = db.prepare<[string, number, number], EventRow>(
    `SELECT ${EVENT_COLUMNS.split(', ').map((c) => `e.${c}`).join(', ')}
     FROM event_subjects AS s JOIN events AS e ON e.global_position = s.global_position
     WHERE s.subject_id = ? AND s.global_position > ? ORDER BY s.global_position LIMIT ?`,
  );
  const head = db.prepare<[], { head: number }>('SELECT coalesce(max(global_position), 0) AS head FROM events');
  const idempotency = db.prepare<[string], { scope: string; result: string; reply: string }>(
    'SELECT scope, result, reply FROM idempotency WHERE key = ?',
  );
  return {
    stream: (streamId, afterVersion) => stream.all(streamId, afterVersion).map(toRecordedEvent),
    all: (after, limit, types) => (types ? allOfTypes.all(after, JSON.stringify(types), limit) : all.all(after, limit)).map(toRecordedEvent),
    bySubject: (subjectId, after, limit) => bySubject.all(subjectId, after, limit).map(toRecordedEvent),
    head: () => head.get()?.head ?? 0,
    idempotentResult(key) {
      const row = idempotency.get(key);
      if (!row) return undefined;
      return {
        scope: row.scope,
        result: JSON.parse(row.result) as StoredIdempotentResult['result'],
        reply: JSON.parse(row.reply) as unknown,
      };
    },
  };
}
