import type pg from 'pg';
import type { RecordedEvent, StoredIdempotentResult } from '@crm/core';
import { EVENT_COLUMNS, toRecordedEvent, type EventRow } from './event-rows.ts';
import { qualified } from './sql-names.ts';

export interface EventReads {
  stream(streamId: string, afterVersion: number): Promise<RecordedEvent[]>;
  all(after: number, limit: number, types?: readonly string[]): Promise<RecordedEvent[]>;
  bySubject(subjectId: string, after: number, limit: number): Promise<RecordedEvent[]>;
  head(): Promise<number>;
  idempotentResult(key: string): Promise<StoredIdempotentResult | undefined>;
}

/**
 * The store's reads, each one statement (one snapshot) on any pooled connection. They see
 * committed data only, and since positions commit in order, always a gap-free prefix.
 */
export function eventReads(pool: pg.Pool, schema: string): EventReads {
  const events = qualified(schema, 'events');
  const idempotency = qualified(schema, 'idempotency');
  const stream = {
    name: `${schema}:read-stream`,
    text: `SELECT ${EVENT_COLUMNS} FROM ${events} WHERE stream_id = $1 AND stream_version > $2 ORDER BY stream_version`,
  };
  const all = {
    name: `${schema}:read-all`,
    text: `SELECT ${EVENT_COLUMNS} FROM ${events} WHERE global_position > $1 ORDER BY global_position LIMIT $2`,
  };
  const allOfTypes = {
    name: `${schema}:read-all-of-types`,
    text: `SELECT ${EVENT_COLUMNS} FROM ${events} WHERE global_position > $1 AND type = ANY($3::text[]) ORDER BY global_position LIMIT $2`,
  };
  const bySubject = {
    name: `${schema}:read-by-subject`,
    text: `SELECT ${EVENT_COLUMNS.split(', ').map((c) => `e.${c}`).join(', ')}
           FROM ${qualified(schema, 'event_subjects')} AS s JOIN ${events} AS e ON e.global_position = s.global_position
           WHERE s.subject_id = $1 AND s.global_position > $2 ORDER BY s.global_position LIMIT $3`,
  };
  const head = { name: `${schema}:head`, text: `SELECT coalesce(max(global_position), 0)::text AS head FROM ${events}` };
  const findKey = { name: `${schema}:find-key`, text: `SELECT scope, result, reply FROM ${idempotency} WHERE key = $1` };
  return {
    async stream(streamId, afterVersion) {
      const { rows } = await pool.query<EventRow>({ ...stream, values: [streamId, afterVersion] });
      return rows.map(toRecordedEvent);
    },
    async all(after, limit, types) {
      const { rows } = await pool.query<EventRow>(types ? { ...allOfTypes, values: [after, limit, [...types]] } : { ...all, values: [after, limit] });
      return rows.map(toRecordedEvent);
    },
    async bySubject(subjectId, after, limit) {
      const { rows } = await pool.query<EventRow>({ ...bySubject, values: [subjectId, after, limit] });
      return rows.map(toRecordedEvent);
    },
    async head() {
      const { rows } = await pool.query<{ head: string }>(head);
      return Number(rows[0]?.head ?? 0);
    },
    async idempotentResult(key) {
      const { rows } = await pool.query<StoredIdempotentResult>({ ...findKey, values: [key] });
      const row = rows[0];
      return row ? { scope: row.scope, result: row.result, reply: row.reply } : undefined;
    },
  };
}
