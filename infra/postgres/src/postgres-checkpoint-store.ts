/**
 * CheckpointStore on PostgreSQL: one row per named reader (the relay, a projector). Kept by
 * default in the event store's schema, so that a dump or restore of the events carries the
 * checkpoints along and a restored log never sits behind a checkpoint that points past it.
 */
import type { CheckpointStore } from '@crm/core';
import { migrateSchema } from './migrations.ts';
import { createPool } from './pool.ts';
import { checkSchemaName, qualified } from './sql-names.ts';

export interface PostgresCheckpointStoreOptions {
  connectionString: string;
  /** Schema of the `checkpoints` table; created when missing. Default `crm_events`, the event store's. */
  schema?: string;
  /** Most connections of the store's pool. Default 2. */
  poolSize?: number;
}

export interface PostgresCheckpointStore extends CheckpointStore {
  /** Settles once the schema is migrated; every method waits for it anyway. */
  readonly ready: Promise<void>;
}

const CHECKPOINTS_COMPONENT = 'checkpoints';
const CHECKPOINTS_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE {schema}.checkpoints (
    name       text        COLLATE "C" PRIMARY KEY,
    position   bigint      NOT NULL CHECK (position >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
  );
  `,
];

export function openPostgresCheckpointStore(options: PostgresCheckpointStoreOptions): PostgresCheckpointStore {
  const schema = checkSchemaName(options.schema ?? 'crm_events');
  const pool = createPool({
    connectionString: options.connectionString,
    max: options.poolSize ?? 2,
    applicationName: `crm-checkpoints:${schema}`,
  });
  const ready = migrateSchema(pool, schema, CHECKPOINTS_COMPONENT, CHECKPOINTS_MIGRATIONS);
  ready.catch(() => {}); // reported through every method (and `ready` itself), not as unhandled
  const checkpoints = qualified(schema, 'checkpoints');
  const load = { name: `${schema}:load-checkpoint`, text: `SELECT position::text FROM ${checkpoints} WHERE name = $1` };
  // The WHERE makes "only forward" the database's rule, also between processes: a row-locked
  // upsert re-checks it against the latest committed position. A store that would not move
  // the checkpoint writes no new row version at all.
  const store = {
    name: `${schema}:store-checkpoint`,
    text: `INSERT INTO ${checkpoints} AS c (name, position) VALUES ($1, $2)
           ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = now()
           WHERE excluded.position > c.position`,
  };
  let closing: Promise<void> | undefined;

  async function opened(): Promise<void> {
    if (closing) throw new Error('The PostgreSQL checkpoint store is closed');
    await ready;
  }

  return {
    ready,
    async load(name) {
      await opened();
      const { rows } = await pool.query<{ position: string }>({ ...load, values: [name] });
      return Number(rows[0]?.position ?? 0);
    },
    async store(name, position) {
      if (!Number.isSafeInteger(position) || position < 0) {
        throw new RangeError('position must be a non-negative safe integer');
      }
      await opened();
      await pool.query({ ...store, values: [name, position] });
    },
    close() {
      closing ??= pool.end();
      return closing;
    },
  };
}
