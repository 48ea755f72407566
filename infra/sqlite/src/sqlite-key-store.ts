/**
 * KeyStore on SQLite (better-sqlite3): wrapped subject keys and tombstones in a file of
 * their own, apart from the event store, so destroying keys never touches the events.
 */
import Database from 'better-sqlite3';
import { cacheSizePragma, PAGE_CACHE_KIB } from './page-cache.ts';
import {
  SubjectErased,
  SubjectKeyExists,
  UnknownSubject,
  createGroupCommit,
  type KeyStore,
  type Outcome,
  type RewrappedKey,
  type SubjectKeyRecord,
  type Tombstone,
  type WrappedSubjectKey,
} from '@crm/core';

export interface SqliteKeyStoreOptions {
  /** Database file; created with its tables when missing. */
  path: string;
}

const BUSY_TIMEOUT_MS = 5000;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS subject_keys (
    subject_id  TEXT    NOT NULL,
    key_version INTEGER NOT NULL CHECK (key_version >= 1),
    kek_id      TEXT    NOT NULL,
    wrapped     BLOB    NOT NULL,
    created_at  TEXT    NOT NULL,
    PRIMARY KEY (subject_id, key_version)
  ) STRICT;
  -- stats() groups by master key; the index holds no key material.
  CREATE INDEX IF NOT EXISTS subject_keys_by_kek ON subject_keys (kek_id);
  CREATE TABLE IF NOT EXISTS tombstones (
    subject_id   TEXT NOT NULL PRIMARY KEY,
    destroyed_at TEXT NOT NULL,
    request_id   TEXT NOT NULL,
    key_versions TEXT NOT NULL -- JSON array of the destroyed versions
  ) STRICT;
`;

interface KeyRow {
  subject_id: string;
  key_version: number;
  kek_id: string;
  wrapped: Buffer;
  created_at: string;
}

interface TombstoneRow {
  subject_id: string;
  destroyed_at: string;
  request_id: string;
  key_versions: string;
}

const KEY_COLUMNS = 'subject_id, key_version, kek_id, wrapped, created_at';

export function openSqliteKeyStore(options: SqliteKeyStoreOptions): KeyStore {
  const db = new Database(options.path);
  try {
    configure(db);
    db.exec(SCHEMA);
  } catch (error) {
    db.close();
    throw error;
  }

  const selectTombstone = db.prepare<[string], TombstoneRow>(
    'SELECT subject_id, destroyed_at, request_id, key_versions FROM tombstones WHERE subject_id = ?',
  );
  const selectLatestKey = db.prepare<[string], KeyRow>(
    `SELECT ${KEY_COLUMNS} FROM subject_keys WHERE subject_id = ? ORDER BY key_version DESC LIMIT 1`,
  );
  const selectVersions = db.prepare<[string], { key_version: number }>(
    'SELECT key_version FROM subject_keys WHERE subject_id = ? ORDER BY key_version',
  );
  const insertKey = db.prepare<[string, number, string, Uint8Array, string]>(
    `INSERT INTO subject_keys (${KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?)`,
  );
  const deleteKeys = db.prepare<[string]>('DELETE FROM subject_keys WHERE subject_id = ?');
  const insertTombstone = db.prepare<[string, string, string, string]>(
    'INSERT INTO tombstones (subject_id, destroyed_at, request_id, key_versions) VALUES (?, ?, ?, ?)',
  );
  const selectWrappedByOther = db.prepare<[string, number], KeyRow>(
    `SELECT ${KEY_COLUMNS} FROM subject_keys WHERE kek_id <> ? ORDER BY subject_id, key_version LIMIT ?`,
  );
  const updateWrapping = db.prepare<[string, Uint8Array, string, number, string]>(
    'UPDATE subject_keys SET kek_id = ?, wrapped = ? WHERE subject_id = ? AND key_version = ? AND kek_id = ?',
  );
  const countByKek = db.prepare<[], { kek_id: string; n: number }>(
    'SELECT kek_id, COUNT(*) AS n FROM subject_keys GROUP BY kek_id ORDER BY kek_id',
  );
  const countTombstones = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM tombstones');

  // Writers use BEGIN IMMEDIATE: the check and the write then hold the one write lock
  // together, so two connections (or processes) cannot both pass the check.
  const createOne = (key: WrappedSubjectKey) => {
    if (selectTombstone.get(key.subjectId)) throw new SubjectErased(key.subjectId);
    if (selectLatestKey.get(key.subjectId)) throw new SubjectKeyExists(key.subjectId);
    insertKey.run(key.subjectId, key.keyVersion, key.kekId, key.wrapped, key.createdAt);
  };
  // Creates arriving in one tick (many new subjects at once) share one transaction and one
  // fsync; each create runs in its own savepoint, so a refused one fails alone.
  const createTx = db.transaction((keys: readonly WrappedSubjectKey[]): Outcome<void>[] =>
    keys.map((key) => {
      try {
        db.transaction(createOne)(key);
        return { ok: true, value: undefined };
      } catch (error) {
        return { ok: false, error };
      }
    }),
  );
  const creates = createGroupCommit<WrappedSubjectKey, void>({ maxBatch: 500, commitBatch: (keys) => createTx.immediate(keys) });

  // A read transaction, so key and tombstone are read from one snapshot.
  const findTx = db.transaction((subjectId: string): SubjectKeyRecord | undefined => {
    const tombstone = selectTombstone.get(subjectId);
    if (tombstone) return { state: 'destroyed', tombstone: toTombstone(tombstone) };
    const key = selectLatestKey.get(subjectId);
    return key ? { state: 'active', key: toKey(key) } : undefined;
  });

  const destroyTx = db.transaction((subjectId: string, requestId: string, at: string): Tombstone => {
    const existing = selectTombstone.get(subjectId);
    if (existing) return toTombstone(existing);
    const keyVersions = selectVersions.all(subjectId).map((row) => row.key_version);
    if (keyVersions.length === 0) throw new UnknownSubject();
    deleteKeys.run(subjectId);
    insertTombstone.run(subjectId, at, requestId, JSON.stringify(keyVersions));
    return { subjectId, destroyedAt: at, requestId, keyVersions };
  });

  const rewrapTx = db.transaction((keys: RewrappedKey[]): number => {
    let changed = 0;
    for (const k of keys) {
      changed += updateWrapping.run(k.kekId, k.wrapped, k.subjectId, k.keyVersion, k.fromKekId).changes;
    }
    return changed;
  });

  /**
   * secure_delete zeroes the deleted rows in the new page images, but in WAL mode the
   * old images (with the key bytes) stay in the -wal file until a checkpoint copies the
   * pages back and the log is reset. TRUNCATE waits (busy_timeout) for readers, writes
   * every page to the main file and truncates the -wal file to zero bytes.
   * If a reader keeps it from finishing, the next destroy or close finishes it.
   */
  function scrubWal(): void {
    db.pragma('wal_checkpoint(TRUNCATE)');
  }

  return {
    create(key) {
      return creates.submit(key);
    },
    async find(subjectId) {
      return findTx.deferred(subjectId);
    },
    async destroy(subjectId, requestId, at) {
      const tombstone = destroyTx.immediate(subjectId, requestId, at);
      // Also after an idempotent repeat, so a retried destroy completes an earlier scrub.
      scrubWal();
      return tombstone;
    },
    async listWrappedByOtherThan(kekId, limit) {
      // SQLite reads a negative LIMIT as "no limit"; refuse it rather than return everything.
      if (!Number.isInteger(limit) || limit < 0) throw new RangeError('limit must be a non-negative integer');
      return selectWrappedByOther.all(kekId, limit).map(toKey);
    },
    async rewrap(keys) {
      return rewrapTx.immediate(keys);
    },
    async stats() {
      const activeKeysByKek: Record<string, number> = {};
      for (const row of countByKek.all()) activeKeysByKek[row.kek_id] = row.n;
      return { activeKeysByKek, tombstones: countTombstones.get()?.n ?? 0 };
    },
    async close() {
      await creates.drain();
      if (!db.open) return;
      scrubWal();
      db.close();
    },
  };
}

function configure(db: Database.Database): void {
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma(cacheSizePragma(PAGE_CACHE_KIB.keyStore));
  // The key store must not open without these: a destroyed key must be durably gone
  // (FULL syncs the WAL on every commit) and its bytes overwritten, not just unlinked.
  const journalMode = db.pragma('journal_mode = WAL', { simple: true });
  if (journalMode !== 'wal') throw new Error(`key store needs WAL journal mode, got ${String(journalMode)}`);
  db.pragma('synchronous = FULL');
  const secureDelete = db.pragma('secure_delete = ON', { simple: true });
  if (secureDelete !== 1) throw new Error('key store needs secure_delete, which this SQLite build refuses');
}

function toKey(row: KeyRow): WrappedSubjectKey {
  return {
    subjectId: row.subject_id,
    keyVersion: row.key_version,
    kekId: row.kek_id,
    // A plain Uint8Array copy, not the driver's Buffer: callers get exactly the port's type.
    wrapped: new Uint8Array(row.wrapped),
    createdAt: row.created_at,
  };
}

function toTombstone(row: TombstoneRow): Tombstone {
  return {
    subjectId: row.subject_id,
    destroyedAt: row.destroyed_at,
    requestId: row.request_id,
    keyVersions: JSON.parse(row.key_versions) as number[],
  };
}
