import type Database from 'better-sqlite3';

/** Bumped by each migration below; `PRAGMA user_version` records which one a file has. */
export const EVENT_STORE_SCHEMA_VERSION = 2;

const MIGRATIONS: readonly string[] = [
  `
  -- global_position is the rowid: SQLite assigns max(rowid)+1 inside the writer's transaction,
  -- so with no deletes (enforced below) positions are gap-free and follow commit order.
  CREATE TABLE events (
    global_position INTEGER PRIMARY KEY,
    event_id        TEXT    NOT NULL UNIQUE,
    stream_id       TEXT    NOT NULL,
    stream_version  INTEGER NOT NULL,
    type            TEXT    NOT NULL,
    schema_version  INTEGER NOT NULL,
    data            TEXT    NOT NULL,
    metadata        TEXT    NOT NULL,
    recorded_at     TEXT    NOT NULL,
    UNIQUE (stream_id, stream_version)
  ) STRICT;

  CREATE TRIGGER events_no_update BEFORE UPDATE ON events
  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
  CREATE TRIGGER events_no_delete BEFORE DELETE ON events
  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

  CREATE TABLE streams (
    stream_id TEXT    PRIMARY KEY,
    version   INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE idempotency (
    key         TEXT PRIMARY KEY,
    scope       TEXT NOT NULL,
    result      TEXT NOT NULL,
    reply       TEXT NOT NULL,
    recorded_at TEXT NOT NULL
  ) STRICT, WITHOUT ROWID;
  `,
  `
  -- The subject index: which events name which data subject (metadata.subjectIds), so that an
  -- access request or an erasure reads one subject's events instead of the whole log. Ids
  -- only, never personal data. The writer fills it in the transaction of each append
  -- (append-batch.ts); events written before this migration are indexed here.
  CREATE TABLE event_subjects (
    subject_id      TEXT    NOT NULL,
    global_position INTEGER NOT NULL,
    PRIMARY KEY (subject_id, global_position)
  ) STRICT, WITHOUT ROWID;

  CREATE TRIGGER event_subjects_no_update BEFORE UPDATE ON event_subjects
  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
  CREATE TRIGGER event_subjects_no_delete BEFORE DELETE ON event_subjects
  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

  INSERT OR IGNORE INTO event_subjects (subject_id, global_position)
  SELECT s.value, e.global_position
  FROM events AS e, json_each(e.metadata, '$.subjectIds') AS s
  WHERE json_type(e.metadata, '$.subjectIds') = 'array' AND s.type = 'text';
  `,
];

/**
 * Brings the file up to the current schema. Runs under BEGIN IMMEDIATE so that two processes
 * opening a new file at once do not both create the tables.
 */
export function migrateEventStoreSchema(db: Database.Database): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > MIGRATIONS.length) {
      throw new Error(
        `Event store schema version ${current} is newer than this code knows (${MIGRATIONS.length})`,
      );
    }
    for (const migration of MIGRATIONS.slice(current)) db.exec(migration);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
    db.exec('COMMIT');
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw error;
  }
}
