import { catchUpSubscription, createCommitSignal, createGroupCommit, nonNegativeInteger, positiveInteger, type AppendResult, type EventStore, type RecordedEvent } from '@crm/core';
import { type AppendRequest, serializeEvent } from './append-batch.ts';
import { openEventStoreConnection } from './connection.ts';
import { PAGE_CACHE_KIB } from './page-cache.ts';
import { prepareEventReads } from './event-reads.ts';
import { startEventWriter } from './event-writer.ts';

export interface SqliteEventStoreOptions {
  /** The store's file; it and its folder are created when missing. */
  path: string;
  /**
   * Default true: `PRAGMA synchronous = FULL`, so a commit is fsync'd before `append` resolves.
   * false: NORMAL, which survives a process crash but may lose the last commits on power loss.
   */
  durable?: boolean;
  /** Default `limit` of `readAll` and `readBySubject`, and page size of subscriptions. Default 1000. */
  batchSize?: number;
  /** Most appends committed in one group-commit transaction. Default 1000. */
  maxAppendsPerCommit?: number;
  /** How often an idle subscription looks for commits made by other processes. Default 250 ms. */
  pollIntervalMs?: number;
  /** How long a writer waits for another process's lock before failing. Default 5000 ms. */
  busyTimeoutMs?: number;
  /** Called after each committed group-commit transaction, e.g. to feed a metric. */
  onCommit?(commit: SqliteCommitInfo): void;
}

export interface SqliteCommitInfo {
  /** Appends in the transaction. */
  appends: number;
  /** Of those, how many were rolled back to their savepoint (conflict, duplicate key...). */
  failed: number;
}

/**
 * The embedded event store: one SQLite file in WAL mode. Appends are group-committed on a
 * writer thread (one transaction, one fsync per group); reads run on the calling thread.
 */
export function openSqliteEventStore(options: SqliteEventStoreOptions): EventStore {
  const batchSize = positiveInteger(options.batchSize ?? 1000, 'batchSize');
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const connection = { path: options.path, durable: options.durable ?? true, busyTimeoutMs: options.busyTimeoutMs ?? 5000 };
  // Opened (and migrated) here first, so the writer thread finds the schema in place.
  const db = openEventStoreConnection({ ...connection, cacheKiB: PAGE_CACHE_KIB.eventReader });
  const reads = prepareEventReads(db);
  const writer = startEventWriter({ ...connection, cacheKiB: PAGE_CACHE_KIB.eventWriter });
  const commits = createCommitSignal();
  // Aborted by close(): ends every live subscription.
  const closed = new AbortController();
  let closing: Promise<void> | undefined;

  const groupCommit = createGroupCommit<AppendRequest, AppendResult>({
    maxBatch: options.maxAppendsPerCommit ?? 1000,
    // The writer thread commits batches in arrival order, so a few may be on their way.
    maxInFlight: 4,
    async commitBatch(batch) {
      const outcomes = await writer.commit(batch);
      const failed = outcomes.filter((o) => !o.ok).length;
      if (failed < outcomes.length) commits.notify();
      const onCommit = options.onCommit;
      // Outside the commit path: a throwing hook must not fail appends that are already committed.
      if (onCommit) queueMicrotask(() => onCommit({ appends: batch.length, failed }));
      return outcomes;
    },
  });

  function assertOpen(): void {
    if (closing) throw new Error('The SQLite event store is closed');
  }

  return {
    async append(streamId, events, appendOptions = {}) {
      assertOpen();
      return groupCommit.submit({ streamId, events: events.map(serializeEvent), options: appendOptions });
    },

    async findIdempotentResult(key) {
      assertOpen();
      return reads.idempotentResult(key);
    },

    async readStream(streamId, readOptions = {}) {
      assertOpen();
      return reads.stream(streamId, nonNegativeInteger(readOptions.afterVersion ?? 0, 'afterVersion'));
    },

    async readAll(readOptions = {}) {
      assertOpen();
      const after = nonNegativeInteger(readOptions.after ?? 0, 'after');
      return reads.all(after, nonNegativeInteger(readOptions.limit ?? batchSize, 'limit'), readOptions.types);
    },

    async readBySubject(subjectId, readOptions = {}) {
      assertOpen();
      const after = nonNegativeInteger(readOptions.after ?? 0, 'after');
      return reads.bySubject(subjectId, after, nonNegativeInteger(readOptions.limit ?? batchSize, 'limit'));
    },

    async headPosition() {
      assertOpen();
      return reads.head();
    },

    subscribe(subscribeOptions = {}): AsyncIterable<RecordedEvent> {
      const signal = subscribeOptions.signal
        ? AbortSignal.any([closed.signal, subscribeOptions.signal])
        : closed.signal;
      return catchUpSubscription({
        after: nonNegativeInteger(subscribeOptions.after ?? 0, 'after'),
        signal,
        pageSize: batchSize,
        pollIntervalMs,
        readPage: (after, limit) => reads.all(after, limit),
        commits,
      });
    },

    close() {
      closing ??= (async () => {
        await groupCommit.drain();
        closed.abort();
        await writer.close();
        db.close();
      })();
      return closing;
    },
  };
}
