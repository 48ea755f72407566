import Database from 'better-sqlite3';
import type { CheckpointStore } from '@crm/core';

/**
 * A tiny SQLite checkpoint store for the bus suites only, until @crm/sqlite's
 * `openSqliteCheckpointStore` lands; it keeps the port's rule that a position only moves forward.
 */
export function openTestCheckpoints(path: string): CheckpointStore {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.exec('CREATE TABLE IF NOT EXISTS checkpoints (name TEXT PRIMARY KEY, position INTEGER NOT NULL)');
  return {
    async load(name) {
      return (db.prepare('SELECT position FROM checkpoints WHERE name = ?').get(name) as { position: number } | undefined)?.position ?? 0;
    },
    async store(name, position) {
      db.prepare('INSERT INTO checkpoints VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = max(position, excluded.position)').run(name, position);
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
