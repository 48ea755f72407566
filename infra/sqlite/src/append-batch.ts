import type Database from 'better-sqlite3';
import {
  DuplicateIdempotencyKey,
  checkExpectedVersion,
  type AppendOptions,
  type AppendResult,
  type EventToAppend,
  type Outcome,
} from '@crm/core';

/** An event with its data and metadata already JSON: serialised on the caller's thread, cheap to hand to the writer. */
export interface SerializedEvent {
  eventId: string;
  type: string;
  schemaVersion: number;
  data: string;
  metadata: string;
  /** `metadata.subjectIds` without duplicates: the event's rows in the subject index. */
  subjectIds: string[];
}

export function serializeEvent(event: EventToAppend): SerializedEvent {
  const named = event.metadata.subjectIds;
  return {
    eventId: event.eventId,
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: JSON.stringify(event.data ?? null),
    metadata: JSON.stringify(event.metadata),
    subjectIds: Array.isArray(named) ? [...new Set(named.filter((id) => typeof id === 'string'))] : [],
  };
}

export interface AppendRequest {
  streamId: string;
  events: SerializedEvent[];
  options: AppendOptions;
}

/**
 * Prepares the write statements and returns the function that commits one group of appends:
 * one transaction, each append inside its own savepoint so that a failing append rolls back
 * only itself.
 */
export function prepareAppendBatch(db: Database.Database): (batch: readonly AppendRequest[]) => Outcome<AppendResult>[] {
  // IMMEDIATE takes the write lock up front: busy_timeout then applies, and a reader never
  // has to upgrade to a writer mid-transaction (which fails with SQLITE_BUSY at once).
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const rollback = db.prepare('ROLLBACK');
  const savepoint = db.prepare('SAVEPOINT append');
  const release = db.prepare('RELEASE append');
  const rollbackToSavepoint = db.prepare('ROLLBACK TO append');

  const idempotencyKeyExists = db.prepare<[string], { found: 1 }>('SELECT 1 AS found FROM idempotency WHERE key = ?');
  const streamVersion = db.prepare<[string], { version: number }>('SELECT version FROM streams WHERE stream_id = ?');
  const streamLastPosition = db.prepare<[string], { position: number }>(
    'SELECT global_position AS position FROM events WHERE stream_id = ? ORDER BY stream_version DESC LIMIT 1',
  );
  const insertEvent = db.prepare<[string, string, number, string, number, string, string, string]>(
    `INSERT INTO events (event_id, stream_id, stream_version, type, schema_version, data, metadata, recorded_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const indexSubject = db.prepare<[string, number]>('INSERT INTO event_subjects (subject_id, global_position) VALUES (?, ?)');
  const upsertStream = db.prepare<[string, number]>(
    `INSERT INTO streams (stream_id, version) VALUES (?, ?)
     ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version`,
  );
  const insertIdempotency = db.prepare<[string, string, string, string, string]>(
    'INSERT INTO idempotency (key, scope, result, reply, recorded_at) VALUES (?, ?, ?, ?, ?)',
  );

  function appendOne(request: AppendRequest, recordedAt: string): AppendResult {
    const { streamId, events, options } = request;
    const idempotency = options.idempotency;
    // Checked before the version: a retry of an append that already succeeded must be told
    // "already done", not "conflict".
    if (idempotency && idempotencyKeyExists.get(idempotency.key)) {
      throw new DuplicateIdempotencyKey(idempotency.key);
    }
    const current = streamVersion.get(streamId)?.version ?? 0;
    checkExpectedVersion(streamId, options.expectedVersion ?? 'any', current);

    let result: AppendResult;
    if (events.length === 0) {
      // Nothing written: positions point at the stream's last event, so "wait until projected
      // up to lastPosition" still means the stream's current state.
      const last = streamLastPosition.get(streamId)?.position ?? 0;
      result = { streamId, nextExpectedVersion: current, firstPosition: last, lastPosition: last };
    } else {
      let firstPosition = 0;
      let lastPosition = 0;
      events.forEach((event, i) => {
        const { lastInsertRowid } = insertEvent.run(
          event.eventId,
          streamId,
          current + i + 1,
          event.type,
          event.schemaVersion,
          event.data,
          event.metadata,
          recordedAt,
        );
        lastPosition = Number(lastInsertRowid);
        if (i === 0) firstPosition = lastPosition;
        // Same transaction (and savepoint) as the event: the index never names an event that
        // was rolled back, and never misses one that committed.
        for (const subjectId of event.subjectIds) indexSubject.run(subjectId, lastPosition);
      });
      upsertStream.run(streamId, current + events.length);
      result = { streamId, nextExpectedVersion: current + events.length, firstPosition, lastPosition };
    }
    if (idempotency) {
      insertIdempotency.run(
        idempotency.key,
        idempotency.scope,
        JSON.stringify(result),
        JSON.stringify(idempotency.reply ?? null),
        recordedAt,
      );
    }
    return result;
  }

  return function commitBatch(batch) {
    begin.run();
    try {
      // Taken once the write lock is held: commit order and recordedAt order agree.
      const recordedAt = new Date().toISOString();
      const outcomes = batch.map((request): Outcome<AppendResult> => {
        savepoint.run();
        try {
          const value = appendOne(request, recordedAt);
          release.run();
          return { ok: true, value };
        } catch (error) {
          rollbackToSavepoint.run();
          release.run();
          return { ok: false, error };
        }
      });
      commit.run();
      return outcomes;
    } catch (error) {
      if (db.inTransaction) rollback.run();
      throw error;
    }
  };
}
