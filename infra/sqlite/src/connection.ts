import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { cacheSizePragma } from './page-cache.ts';
import { migrateEventStoreSchema } from './schema.ts';

export interface EventStoreConnectionOptions {
  path: string;
  /** FULL fsyncs the WAL on every commit; NORMAL may lose the last commits on power loss, never corrupts. */
  durable: boolean;
  busyTimeoutMs: number;
  /** This connection's SQLite page cache (see PAGE_CACHE_KIB). */
  cacheKiB: number;
}

/** Opens (creating if needed) an event store file in WAL mode with the schema migrated. */
export function openEventStoreConnection(options: EventStoreConnectionOptions): Database.Database {
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
  const db = new Database(options.path);
  try {
    // Set before anything else so that opening a locked file waits instead of failing.
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs))}`);
    db.pragma(cacheSizePragma(options.cacheKiB));
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.durable ? 'FULL' : 'NORMAL'}`);
    db.pragma('foreign_keys = ON');
    migrateEventStoreSchema(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
