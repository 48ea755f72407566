/**
 * KeyStore on PostgreSQL: wrapped subject keys and tombstones in a schema of their own,
 * apart from the events, so destroying keys never touches the event log. See README.md for
 * what a destroy does and does not remove from disk (MVCC, WAL, backups).
 */
import type pg from 'pg';
import {
  SubjectErased,
  SubjectKeyExists,
  UnknownSubject,
  type KeyStore,
  type SubjectKeyRecord,
  type Tombstone,
  type WrappedSubjectKey,
} from '@crm/core';
import { LOCK_SPACE, advisoryXactLock, lockKey } from './advisory-locks.ts';
import { KEY_STORE_COMPONENT, KEY_STORE_MIGRATIONS } from './key-store-schema.ts';
import { migrateSchema } from './migrations.ts';
import { createPool, inTransaction } from './pool.ts';
import { checkSchemaName, qualified } from './sql-names.ts';

export interface PostgresKeyStoreOptions {
  /** `postgres://…`; may name another database or server than the event store's. */
  connectionString: string;
  /** Schema holding the key tables; created (with them) when missing. Default `crm_keys`. */
  schema?: string;
  /** Most connections of the store's pool. Default 5. */
  poolSize?: number;
}

export interface VacuumOptions {
  /**
   * Default true: `VACUUM (FULL)` rewrites the key table into new files, so no page of it
   * keeps a destroyed key's bytes; it holds an ACCESS EXCLUSIVE lock on the table meanwhile
   * (every key read and write waits). false: plain `VACUUM`, which takes no such lock and
   * makes the space reusable, but can leave the bytes in a page's free space (see README.md).
   */
  full?: boolean;
}

export interface PostgresKeyStore extends KeyStore {
  /** Settles once the schema is migrated; every method waits for it anyway. */
  readonly ready: Promise<void>;
  /**
   * Vacuums the key table, so that the destroyed keys' row versions, which MVCC keeps after
   * the DELETE, are removed from the table's files. Needs ownership of the table. Run it after
   * erasures; a transaction that was already open at the destroy keeps those rows alive
   * until it ends.
   */
  vacuumDestroyedKeys(options?: VacuumOptions): Promise<void>;
}

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
  key_versions: number[];
}

type Nullable<T> = { [K in keyof T]: T[K] | null };

const KEY_COLUMNS = 'subject_id, key_version, kek_id, wrapped, created_at';

export function openPostgresKeyStore(options: PostgresKeyStoreOptions): PostgresKeyStore {
  const schema = checkSchemaName(options.schema ?? 'crm_keys');
  const pool = createPool({
    connectionString: options.connectionString,
    max: options.poolSize ?? 5,
    applicationName: `crm-keys:${schema}`,
  });
  const ready = migrateSchema(pool, schema, KEY_STORE_COMPONENT, KEY_STORE_MIGRATIONS);
  ready.catch(() => {}); // reported through every method (and `ready` itself), not as unhandled
  const keys = qualified(schema, 'subject_keys');
  const tombstones = qualified(schema, 'tombstones');
  let closing: Promise<void> | undefined;

  /**
   * Create and destroy of one subject hold this lock for their whole transaction, so a check
   * and the write that depends on it cannot interleave with another: a destroy cannot miss a
   * key being created, and two creates cannot both find the subject unknown.
   */
  const lockSubject = (client: pg.PoolClient, subjectId: string) =>
    client.query(advisoryXactLock(LOCK_SPACE.subjectKey, lockKey(`${schema}/${subjectId}`)));

  async function use<T>(run: () => Promise<T>): Promise<T> {
    if (closing) throw new Error('The PostgreSQL key store is closed');
    await ready;
    return run();
  }

  const vacuum = (vacuumOptions: VacuumOptions = {}) =>
    use(async () => {
      // VACUUM cannot run inside a transaction block; a lone pool.query is not in one.
      await pool.query(`VACUUM ${vacuumOptions.full === false ? '' : '(FULL) '}${keys}`);
    });

  return {
    ready,

    create: (key) =>
      use(() =>
        inTransaction(pool, async (client) => {
          await lockSubject(client, key.subjectId);
          // After the lock, in a statement of its own: its snapshot includes whatever the
          // previous holder of the lock committed.
          const { rows } = await client.query<{ erased: boolean; exists: boolean }>(
            `SELECT EXISTS (SELECT 1 FROM ${tombstones} WHERE subject_id = $1) AS erased,
                    EXISTS (SELECT 1 FROM ${keys} WHERE subject_id = $1) AS exists`,
            [key.subjectId],
          );
          if (rows[0]?.erased) throw new SubjectErased(key.subjectId);
          if (rows[0]?.exists) throw new SubjectKeyExists(key.subjectId);
          await client.query(`INSERT INTO ${keys} (${KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5)`, [
            key.subjectId,
            key.keyVersion,
            key.kekId,
            key.wrapped,
            key.createdAt,
          ]);
        }),
      ),

    // One statement, so key and tombstone come from one snapshot.
    find: (subjectId) =>
      use(async (): Promise<SubjectKeyRecord | undefined> => {
        const { rows } = await pool.query<Nullable<Omit<TombstoneRow, 'subject_id'> & Omit<KeyRow, 'subject_id'>>>(
          `SELECT t.destroyed_at, t.request_id, t.key_versions, k.key_version, k.kek_id, k.wrapped, k.created_at
           FROM (SELECT $1::text AS subject_id) s
           LEFT JOIN ${tombstones} t ON t.subject_id = s.subject_id
           LEFT JOIN LATERAL (
             SELECT ${KEY_COLUMNS} FROM ${keys} WHERE subject_id = s.subject_id ORDER BY key_version DESC LIMIT 1
           ) k ON true`,
          [subjectId],
        );
        const row = rows[0];
        if (!row) return undefined;
        const { destroyed_at, request_id, key_versions, key_version, kek_id, wrapped, created_at } = row;
        if (destroyed_at !== null && request_id !== null && key_versions !== null) {
          return {
            state: 'destroyed',
            tombstone: toTombstone({ subject_id: subjectId, destroyed_at, request_id, key_versions }),
          };
        }
        if (key_version !== null && kek_id !== null && wrapped !== null && created_at !== null) {
          return { state: 'active', key: toKey({ subject_id: subjectId, key_version, kek_id, wrapped, created_at }) };
        }
        return undefined;
      }),

    destroy: (subjectId, requestId, at) =>
      use(() =>
        inTransaction(pool, async (client): Promise<Tombstone> => {
          await lockSubject(client, subjectId);
          const existing = await client.query<TombstoneRow>(
            `SELECT subject_id, destroyed_at, request_id, key_versions FROM ${tombstones} WHERE subject_id = $1`,
            [subjectId],
          );
          const first = existing.rows[0];
          if (first) return toTombstone(first);
          // The key rows go and the tombstone comes in one statement of one transaction.
          const { rows } = await client.query<TombstoneRow>(
            `WITH destroyed AS (DELETE FROM ${keys} WHERE subject_id = $1 RETURNING key_version)
             INSERT INTO ${tombstones} (subject_id, destroyed_at, request_id, key_versions)
             SELECT $1, $2, $3, array_agg(key_version ORDER BY key_version) FROM destroyed HAVING count(*) > 0
             RETURNING subject_id, destroyed_at, request_id, key_versions`,
            [subjectId, at, requestId],
          );
          const tombstone = rows[0];
          if (!tombstone) throw new UnknownSubject();
          return toTombstone(tombstone);
        }),
      ),

    listWrappedByOtherThan: (kekId, limit) => {
      if (!Number.isSafeInteger(limit) || limit < 0) {
        return Promise.reject(new RangeError('limit must be a non-negative integer'));
      }
      return use(async () => {
        const { rows } = await pool.query<KeyRow>(
          `SELECT ${KEY_COLUMNS} FROM ${keys} WHERE kek_id <> $1 ORDER BY subject_id, key_version LIMIT $2`,
          [kekId, limit],
        );
        return rows.map(toKey);
      });
    },

    // One UPDATE per key, in one transaction: the same compare-and-set, key by key, as the
    // SQLite store (a key listed twice is changed at most once).
    rewrap: (rewrapped) =>
      use(() =>
        inTransaction(pool, async (client) => {
          let changed = 0;
          for (const k of rewrapped) {
            const result = await client.query(
              `UPDATE ${keys} SET kek_id = $1, wrapped = $2 WHERE subject_id = $3 AND key_version = $4 AND kek_id = $5`,
              [k.kekId, k.wrapped, k.subjectId, k.keyVersion, k.fromKekId],
            );
            changed += result.rowCount ?? 0;
          }
          return changed;
        }),
      ),

    // One statement: counts from one snapshot.
    stats: () =>
      use(async () => {
        const { rows } = await pool.query<{ by_kek: Record<string, number> | null; tombstones: number }>(
          `SELECT (SELECT json_object_agg(kek_id, n ORDER BY kek_id)
                     FROM (SELECT kek_id, count(*)::integer AS n FROM ${keys} GROUP BY kek_id) c) AS by_kek,
                  (SELECT count(*)::integer FROM ${tombstones}) AS tombstones`,
        );
        return { activeKeysByKek: rows[0]?.by_kek ?? {}, tombstones: rows[0]?.tombstones ?? 0 };
      }),

    purgeDestroyed: () => vacuum(),
    vacuumDestroyedKeys: (vacuumOptions = {}) => vacuum(vacuumOptions),

    close() {
      closing ??= pool.end();
      return closing;
    },
  };
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
    keyVersions: row.key_versions,
  };
}
