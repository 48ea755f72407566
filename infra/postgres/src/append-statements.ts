import { LOCK_SPACE, advisoryXactLock, lockKey } from './advisory-locks.ts';
import type { Rows } from './append-plan.ts';
import { BEGIN } from './pool.ts';
import { qualified } from './sql-names.ts';

/** The SQL of one append transaction for one schema. */
export interface AppendStatements {
  /** One round trip: BEGIN, then wait for the event log's lock. */
  beginAndLock: string;
  /** Head, commit time, versions of the named streams and which keys are used: one snapshot. */
  readState: { name: string; text: string };
  /** Every row of the batch in one statement; `withNotify` also notifies subscribers on commit. */
  write: { name: string; text: string };
  writeWithNotify: { name: string; text: string };
  notify: { name: string; text: string };
}

export function appendStatements(schema: string, channel: string): AppendStatements {
  const events = qualified(schema, 'events');
  const streams = qualified(schema, 'streams');
  const idempotency = qualified(schema, 'idempotency');
  // A separate statement from the reads below, and the transaction READ COMMITTED: the reads
  // then take their snapshot after the lock was granted, so they see the commit of the
  // previous holder. (A lock taken inside the reading statement would come too late: the
  // statement's snapshot predates it.)
  const beginAndLock = `${BEGIN}; ${advisoryXactLock(LOCK_SPACE.eventLog, lockKey(schema))}`;
  const writeText = `
    WITH appended AS (
      INSERT INTO ${events}
        (global_position, event_id, stream_id, stream_version, type, schema_version, data, metadata, recorded_at)
      SELECT u.*, $9::timestamptz
      FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::integer[], $7::json[], $8::jsonb[]) AS u
    ), heads AS (
      INSERT INTO ${streams} (stream_id, version, last_position)
      SELECT * FROM unnest($10::text[], $11::bigint[], $12::bigint[])
      ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, last_position = excluded.last_position
    ), keys AS (
      INSERT INTO ${idempotency} (key, scope, result, reply, recorded_at)
      SELECT u.*, $9::timestamptz FROM unnest($13::text[], $14::text[], $15::json[], $16::json[]) AS u
    )`;
  // NOTIFY inside the transaction is delivered only if and when it commits: "after commit"
  // without a round trip of its own, and never for a rolled-back batch.
  const notifyText = `SELECT pg_notify('${channel}', $17::text)`;
  return {
    beginAndLock,
    readState: {
      name: `${schema}:read-state`,
      // One index lookup per named stream and key (LATERAL): `= ANY(array)` lets the planner
      // pick a full scan of `streams` while a new table has no statistics yet.
      text: `
        SELECT (SELECT coalesce(max(global_position), 0) FROM ${events})::text AS head,
               clock_timestamp() AS now,
               (SELECT coalesce(json_agg(json_build_array(s.stream_id, s.version, s.last_position)), '[]')
                  FROM unnest($1::text[]) AS wanted(id)
                  CROSS JOIN LATERAL (SELECT stream_id, version, last_position FROM ${streams} WHERE stream_id = wanted.id) AS s) AS streams,
               (SELECT coalesce(array_agg(k.key), '{}')
                  FROM unnest($2::text[]) AS wanted(key)
                  CROSS JOIN LATERAL (SELECT key FROM ${idempotency} WHERE key = wanted.key) AS k) AS used_keys`,
    },
    write: { name: `${schema}:write`, text: `${writeText} SELECT 1` },
    writeWithNotify: { name: `${schema}:write-notify`, text: `${writeText} ${notifyText}` },
    notify: { name: `${schema}:notify`, text: `SELECT pg_notify('${channel}', $1::text)` },
  };
}

/** Parameters $1..$16 of `write`: one array per column. */
export function writeParameters(rows: Rows, recordedAt: string): unknown[] {
  const { events, streams, idempotency } = rows;
  return [
    events.map((e) => e.position),
    events.map((e) => e.eventId),
    events.map((e) => e.streamId),
    events.map((e) => e.streamVersion),
    events.map((e) => e.type),
    events.map((e) => e.schemaVersion),
    events.map((e) => e.data),
    events.map((e) => e.metadata),
    recordedAt,
    streams.map((s) => s.streamId),
    streams.map((s) => s.version),
    streams.map((s) => s.lastPosition),
    idempotency.map((i) => i.key),
    idempotency.map((i) => i.scope),
    idempotency.map((i) => i.result),
    idempotency.map((i) => i.reply),
  ];
}
