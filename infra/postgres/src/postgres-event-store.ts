import { catchUpSubscription, createCommitSignal, createGroupCommit, nonNegativeInteger, positiveInteger, type AppendResult, type EventStore, type RecordedEvent } from '@crm/core';
import type { AppendRequest } from './append-plan.ts';
import { appendStatements } from './append-statements.ts';
import { commitAppendBatch, type BatchInfo } from './append-transaction.ts';
import { listenForCommits, type CommitListener } from './commit-listener.ts';
import { eventReads } from './event-reads.ts';
import { EVENT_STORE_COMPONENT, EVENT_STORE_MIGRATIONS } from './event-store-schema.ts';
import { migrateSchema } from './migrations.ts';
import { createPool } from './pool.ts';
import { checkSchemaName } from './sql-names.ts';

export interface PostgresEventStoreOptions {
  /** `postgres://user:password@host:port/database`. */
  connectionString: string;
  /** Schema holding the store's tables; created (with them) when missing. Default `crm_events`. */
  schema?: string;
  /** Most connections of the store's pool (appends use one at a time). Default 10. */
  poolSize?: number;
  /** Default `limit` of `readAll` and `readBySubject`, and page size of subscriptions. Default 1000. */
  batchSize?: number;
  /** Most appends committed in one group-commit transaction. Default 1000. */
  maxAppendsPerCommit?: number;
  /**
   * How often an idle subscription reads again without a notification, e.g. while the LISTEN
   * connection is being re-established. Default 500 ms.
   */
  pollIntervalMs?: number;
  /** Called after each committed group-commit transaction, e.g. to feed a metric. */
  onCommit?(commit: PostgresCommitInfo): void;
  /**
   * Runs inside each group-commit transaction, holding the event log's lock, after its rows
   * are written and before COMMIT; a throw rolls the whole batch back. For fault-injection
   * tests: a writer that stalls or dies before committing.
   */
  beforeCommit?(commit: PostgresCommitInfo): Promise<void> | void;
}

export type PostgresCommitInfo = BatchInfo;

export interface PostgresEventStore extends EventStore {
  /**
   * Settles once the schema is migrated: rejects with the reason when that failed. Every
   * method waits for it anyway; await it to fail fast at start-up.
   */
  readonly ready: Promise<void>;
}

/**
 * The PostgreSQL event store. Appends are group-committed; positions are gap-free and follow
 * commit order (see append-transaction.ts); subscribers are woken by LISTEN/NOTIFY and poll
 * as a fallback. Opening is synchronous, like the SQLite store; the migration runs in the
 * background and every method waits for it.
 */
export function openPostgresEventStore(options: PostgresEventStoreOptions): PostgresEventStore {
  const schema = checkSchemaName(options.schema ?? 'crm_events');
  const batchSize = positiveInteger(options.batchSize ?? 1000, 'batchSize');
  const pollIntervalMs = positiveInteger(options.pollIntervalMs ?? 500, 'pollIntervalMs');
  const pool = createPool({
    connectionString: options.connectionString,
    max: positiveInteger(options.poolSize ?? 10, 'poolSize'),
    applicationName: `crm-events:${schema}`,
  });
  const ready = migrateSchema(pool, schema, EVENT_STORE_COMPONENT, EVENT_STORE_MIGRATIONS);
  ready.catch(() => {}); // reported through every method (and `ready` itself), not as unhandled
  // NOTIFY channels are per database; the schema name keeps two stores in one database apart.
  const channel = `${schema}.events`;
  const statements = appendStatements(schema, channel);
  const reads = eventReads(pool, schema);
  const commits = createCommitSignal();
  // Aborted by close(): ends every live subscription.
  const closed = new AbortController();
  let closing: Promise<void> | undefined;
  let listener: CommitListener | undefined;

  const groupCommit = createGroupCommit<AppendRequest, AppendResult>({
    maxBatch: positiveInteger(options.maxAppendsPerCommit ?? 1000, 'maxAppendsPerCommit'),
    // One transaction at a time: they would queue on the event log's lock in the server
    // anyway, each holding a connection while it waits.
    maxInFlight: 1,
    async commitBatch(batch) {
      await ready;
      const { outcomes, info } = await commitAppendBatch(
        { pool, statements, ...(options.beforeCommit ? { beforeCommit: options.beforeCommit } : {}) },
        batch,
      );
      // This process's subscribers need not wait for the notification's round trip.
      if (info.events > 0) commits.notify();
      const onCommit = options.onCommit;
      // Outside the commit path: a throwing hook must not fail appends that are already committed.
      if (onCommit) queueMicrotask(() => onCommit(info));
      return outcomes;
    },
  });

  function assertOpen(): void {
    if (closing) throw new Error('The PostgreSQL event store is closed');
  }

  return {
    ready,

    async append(streamId, events, appendOptions = {}) {
      assertOpen();
      return groupCommit.submit({ streamId, events: [...events], options: appendOptions });
    },

    async findIdempotentResult(key) {
      assertOpen();
      await ready;
      return reads.idempotentResult(key);
    },

    async readStream(streamId, readOptions = {}) {
      assertOpen();
      const afterVersion = nonNegativeInteger(readOptions.afterVersion ?? 0, 'afterVersion');
      await ready;
      return reads.stream(streamId, afterVersion);
    },

    async readAll(readOptions = {}) {
      assertOpen();
      const after = nonNegativeInteger(readOptions.after ?? 0, 'after');
      const limit = nonNegativeInteger(readOptions.limit ?? batchSize, 'limit');
      await ready;
      return reads.all(after, limit, readOptions.types);
    },

    async readBySubject(subjectId, readOptions = {}) {
      assertOpen();
      const after = nonNegativeInteger(readOptions.after ?? 0, 'after');
      const limit = nonNegativeInteger(readOptions.limit ?? batchSize, 'limit');
      await ready;
      return reads.bySubject(subjectId, after, limit);
    },

    async headPosition() {
      assertOpen();
      await ready;
      return reads.head();
    },

    subscribe(subscribeOptions = {}): AsyncIterable<RecordedEvent> {
      const after = nonNegativeInteger(subscribeOptions.after ?? 0, 'after');
      const signal = subscribeOptions.signal
        ? AbortSignal.any([closed.signal, subscribeOptions.signal])
        : closed.signal;
      // Started by the first subscription: a process that only appends holds no LISTEN connection.
      if (!closing && !signal.aborted) {
        listener ??= listenForCommits({
          connectionString: options.connectionString,
          channel,
          applicationName: `crm-listen:${schema}`,
          onCommit: () => commits.notify(),
          retryMs: Math.min(pollIntervalMs, 1000),
        });
      }
      return catchUpSubscription({
        after,
        signal,
        pageSize: batchSize,
        pollIntervalMs,
        readPage: async (from, limit) => {
          await ready;
          return reads.all(from, limit);
        },
        commits,
      });
    },

    close() {
      closing ??= (async () => {
        await groupCommit.drain();
        closed.abort();
        await listener?.close();
        await pool.end();
      })();
      return closing;
    },
  };
}
