/**
 * The peer of the benchmarks: Emmett's PostgreSQL event store (`@event-driven-io/emmett-postgresql`
 * 0.42.0), used only through its public API, behind the few operations the bench compares.
 * It is a workspace of its own because Emmett 0.42 declares uuid 10 as a peer while the bench
 * uses uuid 11: npm installs Emmett (and uuid 10) under this folder alone.
 *
 * Emmett's tables have fixed, unqualified names (`emt_messages`, `emt_streams`, …), so every
 * opened store gets a database of its own (`createDatabase`), dropped again on close.
 * Emmett's SQLite store is not here but in bench-emmett-sqlite/ (emmett-sqlite 0.38.5 peers on
 * Emmett 0.38.5, and its latest release on an Emmett 0.42.4 the registry does not have).
 */
import { dumbo, endAllPools, sql, type Dumbo } from '@event-driven-io/dumbo';
import { isExpectedVersionConflictError } from '@event-driven-io/emmett';
import {
  getPostgreSQLEventStore,
  pongoSingleStreamProjection,
  postgreSQLRawBatchSQLProjection,
  readMessagesBatch,
  readStream,
  rebuildPostgreSQLProjections,
  type PostgresEventStore,
} from '@event-driven-io/emmett-postgresql';
import pg from 'pg';

export const EMMETT_VERSION = '0.42.0';

/** An event as the bench hands it to either store: same type, data and metadata. */
export interface PeerEvent {
  type: string;
  data: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}

/** A failed expected-version check; `actual` is the stream's version, read again after the failure (Emmett does not report it). */
export class PeerVersionConflict extends Error {
  constructor(readonly actual: number) {
    super(`expected-version conflict (stream at ${actual})`);
  }
}

export interface EmmettPeer {
  readonly database: string;
  readonly connectionString: string;
  /** Creates Emmett's schema (its own migration), before anything is measured. */
  ready(): Promise<void>;
  /** `appendToStream` with `expectedStreamVersion` (0 = the stream does not exist yet); the new version. */
  append(streamId: string, events: PeerEvent[], expectedVersion: number): Promise<number>;
  /** `readStream` of one whole stream; the number of events. */
  readStream(streamId: string): Promise<number>;
  /**
   * Every event in global order, `batchSize` at a time, with `readMessagesBatch` (what Emmett's
   * consumers pull with); the number read. Emmett hides events of transactions newer than the
   * oldest one still open on the server (`transaction_id < pg_snapshot_xmin(...)`, so that no
   * reader skips a late commit); with `expected`, it reads on (polling every 5 ms) until it has
   * seen that many, as its consumers would.
   */
  readAll(batchSize: number, expected?: number): Promise<number>;
  /**
   * Rebuilds the projection "events per stream" with Emmett's own rebuild
   * (`rebuildPostgreSQLProjections`, which truncates and replays from the start), either as a
   * Pongo single-stream document projection (a document per stream) or as a raw batch SQL
   * projection (one upsert per batch into a table). Resolves when the consumer stopped (no
   * events left). Returns the stored documents (rows) and the sum of their counts.
   */
  rebuild(kind: 'pongo' | 'raw-sql', batchSize: number): Promise<{ documents: number; counted: number }>;
  close(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function adminQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, application_name: 'crm-bench-emmett' });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** Opens Emmett's PostgreSQL store on a fresh database `database` of the server `url` (created here, dropped by `close`). */
export async function openEmmettPostgres(url: string, database: string, options: { poolSize: number }): Promise<EmmettPeer> {
  if (!/^[a-z_][a-z0-9_]*$/.test(database)) throw new RangeError(`not a database name: ${database}`);
  await adminQuery(url, `CREATE DATABASE "${database}"`);
  const connectionString = withDatabase(url, database);
  const pool = new pg.Pool({ connectionString, max: options.poolSize, application_name: 'crm-bench-emmett' });
  pool.on('error', () => {});
  const store: PostgresEventStore = getPostgreSQLEventStore(connectionString, {
    connectionOptions: { pool },
    schema: { autoMigration: 'CreateOrUpdate' },
  });
  const reader: Dumbo = dumbo({ connectionString });
  let closed = false;

  return {
    database,
    connectionString,
    async ready() {
      await store.schema.migrate();
    },
    async append(streamId, events, expectedVersion) {
      try {
        const result = await store.appendToStream(streamId, events, { expectedStreamVersion: BigInt(expectedVersion) });
        return Number(result.nextExpectedStreamVersion);
      } catch (error) {
        if (!isExpectedVersionConflictError(error)) throw error;
        // Emmett 0.42 reports -1 as the current version ("TODO: Return actual version"): read it, as a caller must.
        const { currentStreamVersion } = await readStream(reader.execute, streamId, { from: BigInt(expectedVersion + 1) });
        throw new PeerVersionConflict(Math.max(expectedVersion, Number(currentStreamVersion)));
      }
    },
    async readStream(streamId) {
      const result = await store.readStream(streamId);
      return result.events.length;
    },
    async readAll(batchSize, expected) {
      let after = 0n;
      let read = 0;
      // Gives up after 2 s without reaching `expected`: paging by `after` (global position) over a
      // batch ordered by transaction id skips events of concurrent appends (see bench/README.md).
      const deadline = performance.now() + 2_000;
      for (;;) {
        const batch = await readMessagesBatch(reader.execute, { after, batchSize });
        read += batch.messages.length;
        const last = batch.messages[batch.messages.length - 1];
        if (last) after = (last.metadata as { globalPosition: bigint }).globalPosition;
        if (batch.areMessagesLeft && batch.messages.length > 0) continue;
        if (expected === undefined || read >= expected || performance.now() > deadline) return read;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    async rebuild(kind, batchSize) {
      const projection =
        kind === 'pongo'
          ? pongoSingleStreamProjection<{ _id?: string; count: number }, PeerEvent & { kind?: 'Event' }>({
              collectionName: 'stream_counts',
              canHandle: ['CustomerDetailsChanged'],
              evolve: (document: { count: number }) => ({ ...document, count: document.count + 1 }),
              initialState: () => ({ count: 0 }),
            } as never)
          : postgreSQLRawBatchSQLProjection<PeerEvent & { kind?: 'Event' }>({
              name: 'stream_counts_sql',
              canHandle: ['CustomerDetailsChanged'],
              init: () => sql('CREATE TABLE IF NOT EXISTS stream_counts_sql (stream_id text PRIMARY KEY, count bigint NOT NULL)'),
              evolve: (events: (PeerEvent & { metadata: unknown })[]) => {
                const counts = new Map<string, number>();
                for (const event of events) {
                  const stream = (event.metadata as { streamName: string }).streamName;
                  counts.set(stream, (counts.get(stream) ?? 0) + 1);
                }
                return [
                  sql(
                    `INSERT INTO stream_counts_sql (stream_id, count) SELECT * FROM unnest(%L::text[], %L::bigint[])
                     ON CONFLICT (stream_id) DO UPDATE SET count = stream_counts_sql.count + excluded.count`,
                    `{${[...counts.keys()].map((k) => `"${k}"`).join(',')}}`,
                    `{${[...counts.values()].join(',')}}`,
                  ),
                ];
              },
              truncate: async (context: { execute: { command(q: unknown): Promise<unknown> } }) => {
                await context.execute.command(sql('CREATE TABLE IF NOT EXISTS stream_counts_sql (stream_id text PRIMARY KEY, count bigint NOT NULL); TRUNCATE stream_counts_sql'));
              },
            } as never);
      const consumer = rebuildPostgreSQLProjections({ connectionString, projections: [projection], pulling: { batchSize, pullingFrequencyInMs: 0 } } as never);
      await consumer.start();
      await consumer.close();
      if (kind === 'pongo') {
        const { rows } = await pool.query<{ documents: string; counted: string }>(
          `SELECT count(*) AS documents, coalesce(sum((data->>'count')::bigint), 0) AS counted FROM pongo_stream_counts`.replace('pongo_stream_counts', 'stream_counts'),
        );
        return { documents: Number(rows[0]!.documents), counted: Number(rows[0]!.counted) };
      }
      const { rows } = await pool.query<{ documents: string; counted: string }>('SELECT count(*) AS documents, coalesce(sum(count), 0) AS counted FROM stream_counts_sql');
      return { documents: Number(rows[0]!.documents), counted: Number(rows[0]!.counted) };
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await store.close();
      } catch {
        // already closed with its pool
      }
      await reader.close().catch(() => {});
      await pool.end().catch(() => {});
      // Pools Emmett made itself (its consumers'): ended before the database goes.
      await endAllPools().catch(() => {});
      // Without FORCE first: terminating a connection a pool is still closing crashes the process
      // (an 'error' event on a pool nobody listens to); its sessions go away within moments.
      for (let attempt = 0; ; attempt++) {
        try {
          await adminQuery(url, `DROP DATABASE IF EXISTS "${database}"${attempt >= 50 ? ' WITH (FORCE)' : ''}`);
          return;
        } catch (error) {
          if (attempt >= 50) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    },
  };
}
