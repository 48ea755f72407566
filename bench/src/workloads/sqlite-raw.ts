/**
 * The embedded engine's own limits for store-append: what better-sqlite3 does with the same rows
 * when none of the event store is in the way.
 *
 * - Insert: the rows store-append's writers would append (same event factory, ids, 10,000
 *   streams, flat or Zipf choice, N events per append to one stream) inserted into a bare table
 *   created from the DDL a freshly migrated store has in `sqlite_master`, on a connection with
 *   the pragmas the store opens its own connections with; a prepared INSERT, a fixed number of
 *   appends' rows per transaction, on this thread. Positions come from SQLite (the rowid, as in
 *   the store), stream versions from counters in this process.
 * - Catch-up read: keyset SELECT pages straight from a store's `events` table; the rows are
 *   fetched and nothing more (no JSON parsing, no event objects).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { customerStream } from '@crm/domain';
// The store's own connection setup (pragmas, then migrations): `synchronous` is a setting of each
// connection, not of the file, so the template is opened the very way the store opens its
// connections, and its settings are read back from that connection.
import { openEventStoreConnection, PAGE_CACHE_KIB } from '@crm/sqlite';
import Database from 'better-sqlite3';
import { v7 as uuidv7 } from 'uuid';
import { startProfile } from '../profiler.ts';
import { timed } from './cpu-timed.ts';
import { eventFactory } from './event-payload.ts';
import type { StoreAppendConfig } from './store-append.ts';
import { type Distribution, seededRandom, streamChooser } from './stream-choice.ts';

/** The connection settings the store sets on open (connection.ts), as read back from such a connection. */
export interface StorePragmas {
  journalMode: string;
  /** 2 = FULL (durable: the WAL is fsync'd at every commit), 1 = NORMAL. */
  synchronous: number;
  foreignKeys: number;
  busyTimeoutMs: number;
  /** The page cache, as `PRAGMA cache_size` reports it (negative: KiB). */
  cacheSize: number;
}

/** What a freshly migrated store has: its `events` table's DDL and its connections' settings. */
export interface StoreTemplate {
  /** CREATE statements of the `events` table and of any explicit index on it; no triggers. */
  ddl: string[];
  /** Indexes SQLite keeps for the table besides the rowid (UNIQUE constraints become automatic ones). */
  indexes: number;
  pragmas: StorePragmas;
}

// The writer's connection is what the raw inserts stand for. openSqliteEventStore's default busy timeout; it only decides how long a writer waits for another process's lock.
const STORE_BUSY_TIMEOUT_MS = 5000;

/** Migrates a throwaway store file in `dir` and reads back what the raw table must copy. */
export function storeTemplate(dir: string, durable: boolean): StoreTemplate {
  const db = openEventStoreConnection({ path: join(dir, 'template.sqlite'), durable, busyTimeoutMs: STORE_BUSY_TIMEOUT_MS, cacheKiB: PAGE_CACHE_KIB.eventWriter });
  try {
    // The append-only triggers are left out on purpose: they fire on UPDATE and DELETE, never on INSERT.
    const ddl = db
      .prepare<[], { sql: string }>(
        `SELECT sql FROM sqlite_master WHERE tbl_name = 'events' AND type IN ('table', 'index') AND sql IS NOT NULL ORDER BY type <> 'table', name`,
      )
      .all()
      .map((row) => row.sql);
    const indexes = db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM sqlite_master WHERE tbl_name = 'events' AND type = 'index'`).get()?.n ?? 0;
    const pragmas: StorePragmas = {
      journalMode: String(db.pragma('journal_mode', { simple: true })),
      synchronous: Number(db.pragma('synchronous', { simple: true })),
      foreignKeys: Number(db.pragma('foreign_keys', { simple: true })),
      busyTimeoutMs: Number(db.pragma('busy_timeout', { simple: true })),
      cacheSize: Number(db.pragma('cache_size', { simple: true })),
    };
    return { ddl, indexes, pragmas };
  } finally {
    db.close();
  }
}

function applyPragmas(db: Database.Database, pragmas: StorePragmas): void {
  db.pragma(`busy_timeout = ${pragmas.busyTimeoutMs}`);
  db.pragma(`cache_size = ${pragmas.cacheSize}`);
  db.pragma(`journal_mode = ${pragmas.journalMode}`);
  db.pragma(`synchronous = ${pragmas.synchronous}`);
  db.pragma(`foreign_keys = ${pragmas.foreignKeys}`);
}

export interface RawInsertShape {
  /** Rows per append: consecutive versions of the one stream picked. */
  eventsPerAppend: number;
  /** Appends' worth of rows committed per transaction. */
  appendsPerTransaction: number;
}

export interface RawInsertFigures {
  rowsPerSec: number;
  rows: number;
  transactions: number;
  seconds: number;
  /** This process (this thread does all the work) over the measured phase, in % of one core. */
  cpuPercent: number;
  template: StoreTemplate;
}

/** One row as the store's writer would insert it (minus recorded_at: one per transaction, as in the store). */
type RawRow = [eventId: string, streamId: string, streamVersion: number, type: string, schemaVersion: number, data: string, metadata: string];

/**
 * The raw insert baseline: `config.appends` appends' worth of rows (after `config.warmupAppends`
 * unmeasured) into a bare copy of the store's `events` table in a fresh temp file, removed
 * afterwards. Each transaction's rows are built (same factory, serialised as the store
 * serialises them) and then committed, one after the other on this thread.
 */
export async function runRawSqliteInsert(
  config: StoreAppendConfig,
  shape: RawInsertShape,
  distribution: Distribution,
  seed: number,
  profileFile?: string,
): Promise<RawInsertFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'crm-bench-raw-sqlite-'));
  let db: Database.Database | undefined;
  try {
    const template = storeTemplate(dir, config.durable);
    db = new Database(join(dir, 'raw.sqlite'));
    applyPragmas(db, template.pragmas);
    db.exec(template.ddl.join(';\n'));

    const insert = db.prepare<[string, string, number, string, number, string, string, string]>(
      `INSERT INTO events (event_id, stream_id, stream_version, type, schema_version, data, metadata, recorded_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // BEGIN IMMEDIATE … COMMIT, as the store's writer does.
    const commitRows = db.transaction((rows: readonly RawRow[], recordedAt: string) => {
      for (const row of rows) insert.run(...row, recordedAt);
    }).immediate;

    const subjects = Array.from({ length: config.streams }, () => uuidv7());
    const streamIds = subjects.map(customerStream);
    const events = eventFactory('plaintext', config.payloadBytes);
    const choose = streamChooser(distribution, config.streams, seededRandom(seed), config.zipfS);
    const versions = new Float64Array(config.streams);

    /** The rows of `appends` appends: each picks a stream and takes the next versions of it. */
    async function nextRows(appends: number): Promise<RawRow[]> {
      const rows: RawRow[] = [];
      for (let a = 0; a < appends; a++) {
        const stream = choose();
        for (let e = 0; e < shape.eventsPerAppend; e++) {
          const event = await events.next(subjects[stream]!);
          const version = versions[stream]! + 1;
          versions[stream] = version;
          rows.push([event.eventId, streamIds[stream]!, version, event.type, event.schemaVersion, JSON.stringify(event.data), JSON.stringify(event.metadata)]);
        }
      }
      return rows;
    }

    /** Commits transactions until `target` appends' rows are in (or the deadline). */
    async function drive(target: number, deadline = Number.POSITIVE_INFINITY) {
      let appends = 0;
      let transactions = 0;
      while (appends < target && performance.now() < deadline) {
        const n = Math.min(shape.appendsPerTransaction, target - appends);
        commitRows(await nextRows(n), new Date().toISOString());
        appends += n;
        transactions++;
      }
      return { rows: appends * shape.eventsPerAppend, transactions };
    }

    await drive(config.warmupAppends);
    const profile = profileFile ? await startProfile() : undefined;
    const run = await timed(() => drive(config.appends, performance.now() + config.maxSeconds * 1000));
    if (profileFile) await profile?.stop(profileFile);
    const stored = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM events').get()?.n;
    const expected = config.warmupAppends * shape.eventsPerAppend + run.value.rows;
    if (stored !== expected) throw new Error(`raw SQLite baseline: ${stored} rows in the table, expected ${expected}`);
    return {
      rowsPerSec: run.value.rows / run.seconds,
      rows: run.value.rows,
      transactions: run.value.transactions,
      seconds: run.seconds,
      cpuPercent: run.cpuPercent,
      template,
    };
  } finally {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The engine's limit for a catch-up read: keyset pages of `pageSize` over the store file at
 * `path` (read-only, beside the open store), every column of `events`, the rows fetched and
 * nothing more. Returns how many rows were read.
 */
export function rawCatchUpRead(path: string, pageSize: number): number {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const columns = (db.pragma('table_info(events)') as { name: string }[]).map((c) => c.name).join(', ');
    const page = db.prepare<[number, number], { global_position: number }>(
      `SELECT ${columns} FROM events WHERE global_position > ? ORDER BY global_position LIMIT ?`,
    );
    let after = 0;
    let read = 0;
    for (;;) {
      const rows = page.all(after, pageSize);
      read += rows.length;
      if (rows.length < pageSize) return read;
      after = rows[rows.length - 1]!.global_position;
    }
  } finally {
    db.close();
  }
}
