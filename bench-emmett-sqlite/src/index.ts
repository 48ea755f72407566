/**
 * The SQLite peer of the benchmarks: Emmett's SQLite event store (`@event-driven-io/emmett-sqlite`
 * 0.38.5, on the `sqlite3` native module), used only through its exported API, behind the few
 * operations the bench compares.
 *
 * Every dependency of this workspace is optional. `sqlite3` installs a prebuilt binary from
 * GitHub or, failing that, compiles with node-gyp; when neither works, npm drops it (and
 * emmett-sqlite with it) without failing the install. So nothing here imports Emmett statically:
 * `emmettSqliteAvailability()` loads it at run time and says why it could not, and the types
 * below describe the part of its API the bench uses (checked against its 0.38.5 `index.d.ts`),
 * so that this workspace typechecks with or without it.
 *
 * Why 0.38.5: its only later release (0.42.4) declares a peer on `@event-driven-io/emmett` 0.42.4,
 * which is not on npm; 0.38.5 peers on Emmett 0.38.5, which is. (It sits beside the PostgreSQL
 * peer's Emmett 0.42.0 in a workspace of its own.)
 *
 * What Emmett 0.38.5's SQLite store does, and how the bench deals with it:
 * - Every connection (`sqliteConnection`) sets `journal_mode = WAL` and leaves `synchronous` at
 *   the library's default, FULL (sqlite3 5.1.7 is built with DEFAULT_WAL_SYNCHRONOUS=2);
 *   `busy_timeout` is sqlite3's 1000 ms. `settings()` reads them from a connection made by that
 *   same function.
 * - `getSQLiteEventStore` on a file opens a connection per call and closes it when the call
 *   ends; concurrent calls share whichever connection is open, and the first to finish closes
 *   it under the others (SQLITE_MISUSE "Database handle is closed", SQLITE_BUSY, "cannot rollback -
 *   no transaction is active"). Transactions are counted per connection, not per call. So the
 *   mode `store` runs one call at a time. The mode `connection` is the best a caller can do with
 *   the exported functions: one long-lived `sqliteConnection`, `appendToStream` on it one at a
 *   time (its transactions are not isolated from concurrent calls), reads concurrently.
 * - A failed expected-version check (expected ≥ 1) returns "no success" after its
 *   `UPDATE emt_streams SET stream_position = stream_position + n` ran, and the transaction
 *   commits: the stream's version moves on by n without events. Read back with `readStream`
 *   (the last event's position), the version then never matches again and the stream takes no
 *   more appends. The bench re-reads the version Emmett checks against (`emt_streams`) instead,
 *   so appends go on; `versionGaps()` counts the positions handed out without an event.
 * - Projections: only inline ones (run in the append's transaction). There is no rebuild; what
 *   replays history is a consumer with a projection processor from `BEGINNING`, which `rebuild`
 *   uses (see there).
 */

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const EMMETT_SQLITE_VERSION = '0.38.5';

/** An event as the bench hands it to the peer: type, data and metadata. */
export interface SqlitePeerEvent {
  type: string;
  data: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}

/** A failed expected-version check; `actual` is the version Emmett checks against (`emt_streams`), read after the failure. */
export class SqlitePeerVersionConflict extends Error {
  constructor(readonly actual: number) {
    super(`expected-version conflict (stream at ${actual})`);
  }
}

export type EmmettSqliteMode = 'store' | 'connection';

export interface EmmettSqlitePeer {
  readonly mode: EmmettSqliteMode;
  readonly path: string;
  /** Append with `expectedStreamVersion` (0 = the stream does not exist yet); the new version. */
  append(streamId: string, events: SqlitePeerEvent[], expectedVersion: number): Promise<number>;
  /** One whole stream (`readStream`); the number of events. */
  readStream(streamId: string): Promise<number>;
  /** Every event in global order, `batchSize` at a time, with `readMessagesBatch` (what Emmett's consumers pull with); the number read. */
  readAll(batchSize: number): Promise<number>;
  /**
   * Replays all events into the projection "events per stream" (a table `stream_counts`): the
   * table and the processor's checkpoint are emptied first (Emmett has no rebuild to do it), then
   * a consumer (`store.consumer`, batches of `batchSize`, `pullingFrequencyInMs: 0`) runs one
   * projection processor from `BEGINNING` until the last stored event (`stopAfter`). Resolves when
   * the consumer has stopped; the consumer is closed by `close()` (its `close` sleeps 250 ms).
   */
  rebuild(batchSize: number): Promise<{ documents: number; counted: number; checkpoint: number | null }>;
  /**
   * Appends retried after SQLITE_BUSY so far. Emmett's connection issues a transaction's statements
   * through sqlite3 without waiting for each statement to be finalized; now and then COMMIT finds
   * one still in progress ("cannot commit transaction - SQL statements in progress"), rolls back and
   * throws (its `withTransaction` also prints the error). A caller retries: so does `append`.
   */
  busyRetries(): number;
  /** Stream positions Emmett handed out without storing an event (its failed checks): Σ stream_position − events. */
  versionGaps(): Promise<number>;
  /** journal_mode, synchronous, busy_timeout and the SQLite version of a connection as Emmett makes it. */
  settings(): Promise<Record<string, string | number>>;
  close(): Promise<void>;
}

// The part of emmett-sqlite 0.38.5's API the bench uses (see its dist/index.d.ts).
interface Connection {
  close(): void;
  command(sql: string, values?: unknown[]): Promise<{ changes: number }>;
  query<T>(sql: string, values?: unknown[]): Promise<T[]>;
  querySingle<T>(sql: string, values?: unknown[]): Promise<T | null>;
}
interface ReadMessage {
  type: string;
  data: unknown;
  metadata: { streamName: string; streamPosition: bigint; globalPosition: bigint };
}
interface Projection {
  name: string;
  canHandle: string[];
  handle(events: ReadMessage[], context: { connection: Connection }): Promise<void>;
}
interface Consumer {
  processor(options: { processorId: string; projection: Projection; startFrom: 'BEGINNING'; stopAfter(message: ReadMessage): boolean }): unknown;
  start(): Promise<void>;
  close(): Promise<void>;
}
interface Store {
  appendToStream(streamName: string, events: SqlitePeerEvent[], options: { expectedStreamVersion: bigint }): Promise<{ nextExpectedStreamVersion: bigint }>;
  readStream(streamName: string): Promise<{ events: ReadMessage[] }>;
  consumer(options: { pulling: { batchSize: number; pullingFrequencyInMs: number } }): Consumer;
}
interface EmmettSqliteModule {
  getSQLiteEventStore(options: { fileName: string; schema?: { autoMigration: 'None' | 'CreateOrUpdate' } }): Store;
  sqliteConnection(options: { fileName: string }): Connection;
  createEventStoreSchema(connection: Connection): Promise<void>;
  appendToStream(
    connection: Connection,
    streamName: string,
    streamType: string,
    events: SqlitePeerEvent[],
    options: { expectedStreamVersion: bigint },
  ): Promise<{ success: true; nextStreamPosition: bigint } | { success: false }>;
  readStream(connection: Connection, streamId: string): Promise<{ events: ReadMessage[] }>;
  readMessagesBatch(connection: Connection, options: { after: bigint; batchSize: number }): Promise<{ currentGlobalPosition: bigint; messages: ReadMessage[]; areEventsLeft: boolean }>;
  streamsTable: { name: string };
  messagesTable: { name: string };
  subscriptionsTable: { name: string };
}

export type EmmettSqliteAvailability =
  | { available: true; emmettSqlite: string; sqlite3: string }
  | { available: false; reason: string };

const require = createRequire(import.meta.url);

/**
 * Whether Emmett's SQLite store can run here, and if not, why: sqlite3 is installed and its native
 * binding loads, and emmett-sqlite is installed (npm drops both when sqlite3 fails to install).
 */
export function emmettSqliteAvailability(): EmmettSqliteAvailability {
  const firstLine = (error: unknown) => (error instanceof Error ? error.message.split('\n')[0]! : String(error));
  let sqlite3: string;
  try {
    sqlite3 = (require('sqlite3/package.json') as { version: string }).version;
  } catch {
    return { available: false, reason: '`sqlite3` (the native module emmett-sqlite needs) is not installed: npm drops this optional dependency when its install script fails (no prebuilt binary from GitHub, and no node-gyp build)' };
  }
  try {
    require('sqlite3'); // loads the native binding
  } catch (error) {
    return { available: false, reason: `\`sqlite3\` ${sqlite3} is installed but its native binding does not load: ${firstLine(error)}` };
  }
  let emmettSqlite: string;
  try {
    const entry = require.resolve('@event-driven-io/emmett-sqlite'); // …/emmett-sqlite/dist/index.cjs
    emmettSqlite = (JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch (error) {
    return { available: false, reason: `\`@event-driven-io/emmett-sqlite\` is not installed (${firstLine(error)})` };
  }
  if (emmettSqlite !== EMMETT_SQLITE_VERSION) return { available: false, reason: `\`@event-driven-io/emmett-sqlite\` ${emmettSqlite} is installed; the bench is written for ${EMMETT_SQLITE_VERSION}` };
  return { available: true, emmettSqlite, sqlite3 };
}

// Held in a variable so that the compiler does not resolve it: it may not be installed.
const EMMETT_SQLITE_MODULE: string = '@event-driven-io/emmett-sqlite';
let loading: Promise<EmmettSqliteModule> | undefined;

function load(): Promise<EmmettSqliteModule> {
  loading ??= (async () => {
    const availability = emmettSqliteAvailability();
    if (!availability.available) throw new Error(`Emmett's SQLite store is not available: ${availability.reason}`);
    return (await import(EMMETT_SQLITE_MODULE)) as EmmettSqliteModule;
  })();
  return loading;
}

/** Runs `fn`s one at a time, in call order. */
function serializer(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (fn) => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => {});
    return run;
  };
}

/** Appends that fail with SQLITE_BUSY are retried up to this many attempts in all. */
const MAX_BUSY_ATTEMPTS = 20;

const isConflict = (error: unknown) => typeof error === 'object' && error !== null && (error as { errorCode?: unknown }).errorCode === 412;

/** Opens Emmett's SQLite store on the file `path` (created with its schema when missing). */
export async function openEmmettSqlite(path: string, mode: EmmettSqliteMode): Promise<EmmettSqlitePeer> {
  const emmett = await load();
  const streams = emmett.streamsTable.name;
  const messages = emmett.messagesTable.name;
  // The bench's own connection, made as Emmett makes them: schema, conflict look-ups, catch-up reads, counts.
  const own = emmett.sqliteConnection({ fileName: path });
  await emmett.createEventStoreSchema(own);
  const store = emmett.getSQLiteEventStore({ fileName: path, schema: { autoMigration: 'CreateOrUpdate' } });
  const shared = mode === 'connection' ? emmett.sqliteConnection({ fileName: path }) : undefined;
  const oneAtATime = serializer();
  const consumers: Consumer[] = [];
  let busyRetries = 0;

  async function currentVersion(streamId: string): Promise<number> {
    const row = await own.querySingle<{ position: string }>(`SELECT CAST(stream_position AS TEXT) AS position FROM ${streams} WHERE stream_id = ?`, [streamId]);
    return row ? Number(row.position) : 0;
  }

  async function appendOnce(streamId: string, events: SqlitePeerEvent[], expectedVersion: number): Promise<number | undefined> {
    const expectedStreamVersion = BigInt(expectedVersion);
    if (shared) {
      // The stream type as the store derives it: the name's part before the first '-'.
      const [first, ...rest] = streamId.split('-');
      const streamType = first && rest.length > 0 ? first : 'emt:unknown';
      const result = await emmett.appendToStream(shared, streamId, streamType, events, { expectedStreamVersion });
      return result.success ? Number(result.nextStreamPosition) : undefined;
    }
    try {
      return Number((await store.appendToStream(streamId, events, { expectedStreamVersion })).nextExpectedStreamVersion);
    } catch (error) {
      if (isConflict(error)) return undefined;
      throw error;
    }
  }

  return {
    mode,
    path,
    async append(streamId, events, expectedVersion) {
      let next: number | undefined;
      for (let attempt = 1; ; attempt++) {
        try {
          next = await oneAtATime(() => appendOnce(streamId, events, expectedVersion));
          break;
        } catch (error) {
          // SQLITE_BUSY "cannot commit transaction - SQL statements in progress": rolled back, so retried as a caller would.
          if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || attempt >= MAX_BUSY_ATTEMPTS) throw error;
          busyRetries++;
        }
      }
      if (next !== undefined) return next;
      // Emmett reports −1 as the current version: read what it checks against.
      throw new SqlitePeerVersionConflict(Math.max(expectedVersion, await currentVersion(streamId)));
    },
    async readStream(streamId) {
      if (shared) return (await emmett.readStream(shared, streamId)).events.length;
      return oneAtATime(async () => (await store.readStream(streamId)).events.length);
    },
    async readAll(batchSize) {
      let after = 0n;
      let read = 0;
      for (;;) {
        const batch = await emmett.readMessagesBatch(own, { after, batchSize });
        read += batch.messages.length;
        after = batch.currentGlobalPosition;
        if (!batch.areEventsLeft || batch.messages.length === 0) return read;
      }
    },
    async rebuild(batchSize) {
      const processorId = 'projection:stream_counts';
      await own.command('CREATE TABLE IF NOT EXISTS stream_counts (stream_id TEXT PRIMARY KEY, count INTEGER NOT NULL)');
      await own.command('DELETE FROM stream_counts');
      await own.command(`DELETE FROM ${emmett.subscriptionsTable.name} WHERE subscription_id = ?`, [processorId]);
      const last = await own.querySingle<{ position: string | null }>(`SELECT CAST(max(global_position) AS TEXT) AS position FROM ${messages}`);
      if (!last?.position) return { documents: 0, counted: 0, checkpoint: null };
      const lastPosition = BigInt(last.position);
      const consumer = store.consumer({ pulling: { batchSize, pullingFrequencyInMs: 0 } });
      consumers.push(consumer);
      consumer.processor({
        processorId,
        startFrom: 'BEGINNING',
        stopAfter: (message) => message.metadata.globalPosition >= lastPosition,
        projection: {
          name: 'stream_counts',
          canHandle: ['CustomerDetailsChanged'],
          // Emmett's processor hands a projection one event at a time, in one transaction per batch.
          async handle(events, { connection }) {
            for (const event of events) {
              await connection.command(
                'INSERT INTO stream_counts (stream_id, count) VALUES (?, 1) ON CONFLICT (stream_id) DO UPDATE SET count = count + 1',
                [event.metadata.streamName],
              );
            }
          },
        },
      });
      await consumer.start();
      const counts = await own.querySingle<{ documents: number; counted: number | null }>('SELECT count(*) AS documents, sum(count) AS counted FROM stream_counts');
      const checkpoint = await own.querySingle<{ position: string }>(
        `SELECT CAST(last_processed_position AS TEXT) AS position FROM ${emmett.subscriptionsTable.name} WHERE subscription_id = ?`,
        [processorId],
      );
      return { documents: counts?.documents ?? 0, counted: counts?.counted ?? 0, checkpoint: checkpoint ? Number(checkpoint.position) : null };
    },
    busyRetries: () => busyRetries,
    async versionGaps() {
      const row = await own.querySingle<{ gaps: number | null }>(`SELECT (SELECT sum(stream_position) FROM ${streams}) - (SELECT count(*) FROM ${messages}) AS gaps`);
      return row?.gaps ?? 0;
    },
    async settings() {
      const probe = emmett.sqliteConnection({ fileName: path });
      try {
        const one = async (sql: string) => Object.values((await probe.querySingle<Record<string, string | number>>(sql)) ?? {})[0] ?? '?';
        const synchronous = await one('PRAGMA synchronous');
        return {
          journal_mode: await one('PRAGMA journal_mode'),
          synchronous: ['OFF', 'NORMAL', 'FULL', 'EXTRA'][Number(synchronous)] ?? synchronous,
          busy_timeout: await one('PRAGMA busy_timeout'),
          sqlite: await one('SELECT sqlite_version()'),
        };
      } finally {
        probe.close();
      }
    },
    async close() {
      for (const consumer of consumers.splice(0)) await consumer.close().catch(() => {});
      shared?.close();
      own.close();
    },
  };
}
