/**
 * AuditLog on SQLite (better-sqlite3): one file of its own (WAL, `synchronous = FULL`), one
 * row per entry in `audit_entries` and one row per named data subject in `audit_subjects`,
 * indexed by subject so "who read this person's data" is one index range scan.
 *
 * Records arriving in one turn of the event loop (many concurrent reads) share one
 * transaction and one fsync (group commit); each runs in its own savepoint, so a refused
 * one (e.g. a duplicate id) fails alone. A record resolves once its transaction committed.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { cacheSizePragma, PAGE_CACHE_KIB } from './page-cache.ts';
import {
  AUDIT_LIST_DEFAULT_LIMIT,
  AUDIT_LIST_MAX_LIMIT,
  type AuditEntry,
  type AuditLog,
  type AuditLogFilter,
  type Outcome,
  createGroupCommit,
} from '@crm/core';

export interface SqliteAuditLogOptions {
  /** Database file; it, its folder and its tables are created when missing. */
  path: string;
  /** How long a writer waits for another connection's lock. Default 5000 ms. */
  busyTimeoutMs?: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS audit_entries (
    seq        INTEGER PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    at         TEXT    NOT NULL,
    actor      TEXT    NOT NULL,
    roles      TEXT    NOT NULL, -- JSON array of strings
    action     TEXT    NOT NULL,
    view       TEXT,
    collection TEXT,
    purpose    TEXT    NOT NULL,
    count      INTEGER NOT NULL CHECK (count >= 0)
  ) STRICT;
  CREATE INDEX IF NOT EXISTS audit_entries_by_at ON audit_entries (at, id);
  CREATE INDEX IF NOT EXISTS audit_entries_by_actor ON audit_entries (actor, at, id);
  CREATE TABLE IF NOT EXISTS audit_subjects (
    entry_id   TEXT    NOT NULL REFERENCES audit_entries (id),
    subject_id TEXT    NOT NULL,
    ordinal    INTEGER NOT NULL, -- keeps subjectIds in the order they were recorded
    PRIMARY KEY (entry_id, subject_id)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS audit_subjects_by_subject ON audit_subjects (subject_id, entry_id);
`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_TEXT = 1000;
const MAX_SUBJECTS = 10_000;

interface EntryRow {
  id: string;
  at: string;
  actor: string;
  roles: string;
  action: string;
  view: string | null;
  collection: string | null;
  purpose: string;
  count: number;
}

const ENTRY_COLUMNS = 'e.id, e.at, e.actor, e.roles, e.action, e.view, e.collection, e.purpose, e.count';

export function openSqliteAuditLog(options: SqliteAuditLogOptions): AuditLog {
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
  const db = new Database(options.path);
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    db.pragma(cacheSizePragma(PAGE_CACHE_KIB.auditLog));
    const journalMode = db.pragma('journal_mode = WAL', { simple: true });
    if (options.path !== ':memory:' && journalMode !== 'wal') throw new Error(`audit log needs WAL journal mode, got ${String(journalMode)}`);
    // An audit entry must be on disk before the read it records is answered.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.exec(SCHEMA);
  } catch (error) {
    db.close();
    throw error;
  }

  const insertEntry = db.prepare<[string, string, string, string, string, string | null, string | null, string, number]>(
    'INSERT INTO audit_entries (id, at, actor, roles, action, view, collection, purpose, count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const insertSubject = db.prepare<[string, string, number]>('INSERT INTO audit_subjects (entry_id, subject_id, ordinal) VALUES (?, ?, ?)');
  const selectSubjects = db.prepare<[string], { subject_id: string }>(
    'SELECT subject_id FROM audit_subjects WHERE entry_id = ? ORDER BY ordinal',
  );

  const recordOne = db.transaction((entry: AuditEntry) => {
    insertEntry.run(
      entry.id,
      entry.at,
      entry.actor,
      JSON.stringify(entry.roles),
      entry.action,
      entry.view ?? null,
      entry.collection ?? null,
      entry.purpose,
      entry.count,
    );
    entry.subjectIds.forEach((subjectId, i) => insertSubject.run(entry.id, subjectId, i));
  });
  const recordBatch = db.transaction((entries: readonly AuditEntry[]): Outcome<void>[] =>
    entries.map((entry) => {
      try {
        // Nested: a savepoint, so a refused entry rolls back alone.
        recordOne(entry);
        return { ok: true, value: undefined };
      } catch (error) {
        return { ok: false, error };
      }
    }),
  );
  const records = createGroupCommit<AuditEntry, void>({ maxBatch: 500, commitBatch: (entries) => recordBatch.immediate(entries) });

  // Statements by the filter's shape (at most eight shapes).
  const listStatements = new Map<string, Database.Statement<unknown[], EntryRow>>();
  const listStatement = (bySubject: boolean, byActor: boolean, bySince: boolean) => {
    const key = `${bySubject}${byActor}${bySince}`;
    let statement = listStatements.get(key);
    if (!statement) {
      const where = [
        ...(bySubject ? ['s.subject_id = @subjectId'] : []),
        ...(byActor ? ['e.actor = @actor'] : []),
        ...(bySince ? ['e.at >= @since'] : []),
      ];
      statement = db.prepare<unknown[], EntryRow>(
        `SELECT ${ENTRY_COLUMNS} FROM audit_entries e` +
          (bySubject ? ' JOIN audit_subjects s ON s.entry_id = e.id' : '') +
          (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
          ' ORDER BY e.at, e.id LIMIT @limit',
      );
      listStatements.set(key, statement);
    }
    return statement;
  };
  // One snapshot for the entries and their subjects.
  const listTx = db.transaction((filter: ParsedFilter): AuditEntry[] => {
    const rows = listStatement(filter.subjectId !== undefined, filter.actor !== undefined, filter.since !== undefined).all(filter);
    return rows.map((row) => toEntry(row, selectSubjects.all(row.id).map((s) => s.subject_id)));
  });

  let closed = false;
  return {
    async record(entry) {
      if (closed) throw new Error('The audit log is closed');
      return records.submit(validEntry(entry));
    },
    async list(filter = {}) {
      if (closed) throw new Error('The audit log is closed');
      return listTx.deferred(parseFilter(filter));
    },
    async close() {
      if (closed) return;
      closed = true;
      await records.drain();
      db.close();
    },
  };
}

interface ParsedFilter {
  subjectId?: string;
  actor?: string;
  since?: string;
  limit: number;
}

function parseFilter(filter: AuditLogFilter): ParsedFilter {
  const parsed: ParsedFilter = { limit: AUDIT_LIST_DEFAULT_LIMIT };
  if (filter.subjectId !== undefined) parsed.subjectId = text(filter.subjectId, 'subjectId');
  if (filter.actor !== undefined) parsed.actor = text(filter.actor, 'actor');
  if (filter.since !== undefined) parsed.since = instant(filter.since, 'since');
  if (filter.limit !== undefined) {
    if (!Number.isInteger(filter.limit) || filter.limit < 1 || filter.limit > AUDIT_LIST_MAX_LIMIT) {
      throw new RangeError(`limit must be an integer from 1 to ${AUDIT_LIST_MAX_LIMIT}`);
    }
    parsed.limit = filter.limit;
  }
  return parsed;
}

/** A copy of the entry, checked and with `at` in `toISOString()` form (so `since` compares as text). Messages name fields, never values. */
function validEntry(entry: AuditEntry): AuditEntry {
  if (typeof entry !== 'object' || entry === null) throw new TypeError('an audit entry is an object');
  if (typeof entry.id !== 'string' || !UUID.test(entry.id)) throw new TypeError('audit entry id must be a UUID');
  const subjectIds = stringList(entry.subjectIds, 'subjectIds', MAX_SUBJECTS);
  if (new Set(subjectIds).size !== subjectIds.length) throw new TypeError('audit entry subjectIds must not repeat');
  if (!Number.isInteger(entry.count) || entry.count < 0) throw new TypeError('audit entry count must be a non-negative integer');
  return {
    id: entry.id.toLowerCase(),
    at: instant(entry.at, 'at'),
    actor: text(entry.actor, 'actor'),
    roles: stringList(entry.roles, 'roles', 100),
    action: text(entry.action, 'action'),
    ...(entry.view !== undefined ? { view: text(entry.view, 'view') } : {}),
    ...(entry.collection !== undefined ? { collection: text(entry.collection, 'collection') } : {}),
    purpose: text(entry.purpose, 'purpose'),
    subjectIds,
    count: entry.count,
  };
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_TEXT) {
    throw new TypeError(`audit ${field} must be a non-empty string of at most ${MAX_TEXT} characters`);
  }
  return value;
}

function stringList(value: unknown, field: string, max: number): string[] {
  if (!Array.isArray(value) || value.length > max) throw new TypeError(`audit entry ${field} must be an array of at most ${max} strings`);
  return value.map((item) => text(item, field));
}

function instant(value: unknown, field: string): string {
  const time = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(time)) throw new TypeError(`audit ${field} must be an ISO 8601 timestamp`);
  return new Date(time).toISOString();
}

function toEntry(row: EntryRow, subjectIds: string[]): AuditEntry {
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    roles: JSON.parse(row.roles) as string[],
    action: row.action,
    ...(row.view !== null ? { view: row.view } : {}),
    ...(row.collection !== null ? { collection: row.collection } : {}),
    purpose: row.purpose,
    subjectIds,
    count: row.count,
  };
}
