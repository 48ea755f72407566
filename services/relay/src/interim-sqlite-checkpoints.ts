import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { CheckpointStore } from '@crm/core';

/**
 * INTERIM, until `openSqliteCheckpointStore` lands in @crm/sqlite (written in parallel):
 * then main.ts opens that one and this file goes. One row per reader; a position only
 * moves forward; every store is fsync'd (the relay stores once per batch).
 */
export function openInterimSqliteCheckpoints(path: string): CheckpointStore {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS checkpoints (name TEXT PRIMARY KEY, position INTEGER NOT NULL) STRICT');
  const load = db.prepare<[string], { position: number }>('SELECT position FROM checkpoints WHERE name = ?');
  const store = db.prepare<[string, number]>(
    'INSERT INTO checkpoints (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = max(position, excluded.position)',
  );
  return {
    async load(name) {
      return load.get(name)?.position ?? 0;
    },
    async store(name, position) {
      store.run(name, position);
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
