/**
 * CheckpointStore on SQLite: one row per named reader (the relay, a projector).
 *
 * Meant for the event store's own file: a backup or restore of the events then carries the
 * checkpoints along, so a restored log never sits behind a checkpoint that points past it
 * (a relay would silently skip the events written after the restore). The table lives beside
 * the event tables and outside their migrations; any other file works too.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { cacheSizePragma, PAGE_CACHE_KIB } from './page-cache.ts';
import type { CheckpointStore } from '@crm/core';

export interface SqliteCheckpointStoreOptions {
  /** Database file, normally the event store's; created with the table when missing. */
  path: string;
  /** How long a store waits for another connection's write lock (e.g. a group commit). Default 5000 ms. */
  busyTimeoutMs?: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS checkpoints (
    name       TEXT    PRIMARY KEY,
    position   INTEGER NOT NULL CHECK (position >= 0),
    updated_at TEXT    NOT NULL
  ) STRICT, WITHOUT ROWID;
`;

export function openSqliteCheckpointStore(options: SqliteCheckpointStoreOptions): CheckpointStore {
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
  const db = new Database(options.path);
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    db.pragma(cacheSizePragma(PAGE_CACHE_KIB.checkpoints));
    // WAL as the event store has it, so opening this on the events file changes nothing there.
    db.pragma('journal_mode = WAL');
    // A checkpoint lost to a power cut only replays events, which consumers must tolerate anyway.
    db.pragma('synchronous = NORMAL');
    db.exec('BEGIN IMMEDIATE');
    db.exec(SCHEMA);
    db.exec('COMMIT');
  } catch (error) {
    if (db.open) db.close();
    throw error;
  }

  const load = db.prepare<[string], { position: number }>('SELECT position FROM checkpoints WHERE name = ?');
  // The WHERE makes "only forward" the database's rule, also between connections: the upsert
  // runs under the write lock against the latest committed position.
  const store = db.prepare<[string, number, string]>(
    `INSERT INTO checkpoints (name, position, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
     WHERE excluded.position > checkpoints.position`,
  );

  function assertOpen(): void {
    if (!db.open) throw new Error('The SQLite checkpoint store is closed');
  }

  return {
    async load(name) {
      assertOpen();
      return load.get(name)?.position ?? 0;
    },
    async store(name, position) {
      if (!Number.isSafeInteger(position) || position < 0) {
        throw new RangeError('position must be a non-negative safe integer');
      }
      assertOpen();
      store.run(name, position, new Date().toISOString());
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
