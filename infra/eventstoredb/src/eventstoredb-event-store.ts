/**
 * EventStore on EventStoreDB (KurrentDB) through `@eventstore/db-client`.
 *
 * - Each port stream is one ESDB stream (`streamPrefix` + id); an append is one atomic ESDB
 *   write checked by ESDB against the expected revision.
 * - Global positions come from the store's ordered log (see `store-log.ts`): 1-based, gap-free,
 *   strictly increasing, in `$all` order.
 * - Idempotency records live in one stream per key (see `idempotency.ts`).
 * - `readBySubject` has no index here: it scans the log (see `readBySubject` below).
 */
import {
  AccessDeniedError,
  BACKWARDS,
  END,
  FORWARDS,
  InvalidArgumentError,
  MaxAppendSizeExceededError,
  NotLeaderError,
  StreamDeletedError,
  streamNameFilter,
  type EventData,
} from '@eventstore/db-client';
import {
  WrongExpectedVersion,
  assertExpectedVersion,
  checkExpectedVersion,
  createCommitSignal,
  nonNegativeInteger,
  positiveInteger,
  type AppendOptions,
  type AppendResult,
  type EventStore,
  type ExpectedVersion,
  type RecordedEvent,
} from '@crm/core';
import { connectEsdbClient, type EsdbClient, type LiveSubscription } from './client.ts';
import { IdempotencyKeys, type ClaimedEvents } from './idempotency.ts';
import {
  toEventData,
  toExpectedRevision,
  toRecordedEvent,
  toSafeNumber,
  toWrongExpectedVersion,
} from './mapping.ts';
import { storeNames } from './names.ts';
import { StoreLog, collect } from './store-log.ts';

export interface EventStoreDbEventStoreOptions {
  /** `esdb://host:2113?tls=false`, or any connection string the client takes. */
  connectionString: string;
  /**
   * Prepended to every stream name of this store: several stores can share one server, each
   * seeing only its own streams. Default empty: the port's stream ids are the ESDB stream names.
   */
  streamPrefix?: string;
  /** Default `limit` of `readAll`, page size of subscriptions and of linking. Default 1000. */
  batchSize?: number;
  /** How often an idle subscription looks for events when no live notification came. Default 1000 ms. */
  pollIntervalMs?: number;
  /** How long an idempotency claim may stay open before another process resolves it. Default 60 s. */
  idempotencyLeaseMs?: number;
  /** Most "event → global position" entries kept in memory. Default 100 000. */
  positionCacheSize?: number;
}

export function openEventStoreDbEventStore(options: EventStoreDbEventStoreOptions): EventStore {
  const { connectionString, ...rest } = options;
  if (typeof connectionString !== 'string' || !/^esdb(\+discover)?:\/\//.test(connectionString)) {
    throw new RangeError('connectionString must be an esdb:// or esdb+discover:// URL');
  }
  const settings = settingsOf(rest);
  return openOnClient(connectEsdbClient(connectionString), settings);
}

/** The same store on a client the caller provides (used by the unit tests with an in-memory stand-in). */
export function openEventStoreDbEventStoreOnClient(
  client: EsdbClient,
  options: Omit<EventStoreDbEventStoreOptions, 'connectionString'> = {},
): EventStore {
  return openOnClient(client, settingsOf(options));
}

interface Settings {
  streamPrefix: string;
  batchSize: number;
  pollIntervalMs: number;
  idempotencyLeaseMs: number;
  positionCacheSize: number;
}

function settingsOf(options: Omit<EventStoreDbEventStoreOptions, 'connectionString'>): Settings {
  return {
    streamPrefix: options.streamPrefix ?? '',
    batchSize: positiveInteger(options.batchSize ?? 1000, 'batchSize'),
    pollIntervalMs: positiveInteger(options.pollIntervalMs ?? 1000, 'pollIntervalMs'),
    idempotencyLeaseMs: positiveInteger(options.idempotencyLeaseMs ?? 60_000, 'idempotencyLeaseMs'),
    positionCacheSize: positiveInteger(options.positionCacheSize ?? 100_000, 'positionCacheSize'),
  };
}

function openOnClient(client: EsdbClient, settings: Settings): EventStore {
  const names = storeNames(settings.streamPrefix);
  const commits = createCommitSignal();
  const log = new StoreLog({
    client,
    names,
    pageSize: settings.batchSize,
    cacheSize: settings.positionCacheSize,
    onLinked: () => commits.notify(),
  });
  const keys = new IdempotencyKeys({
    client,
    names,
    leaseMs: settings.idempotencyLeaseMs,
    now: () => Date.now(),
    streamName: (streamId) => names.stream(streamId),
    resultOf: (streamId, events) => resultOf(streamId, events),
  });
  // Aborted by close(): ends every live subscription.
  const closed = new AbortController();
  let closing: Promise<void> | undefined;
  const inflight = new Set<Promise<unknown>>();
  let wake: LiveSubscription | undefined;

  function assertOpen(): void {
    if (closing) throw new Error('The EventStoreDB event store is closed');
  }

  /** Keeps close() from disposing the client under a running call. */
  function track<T>(work: Promise<T>): Promise<T> {
    inflight.add(work);
    const done = () => inflight.delete(work);
    work.then(done, done);
    return work;
  }

  async function resultOf(streamId: string, events: ClaimedEvents): Promise<AppendResult> {
    const streamName = names.stream(streamId);
    const [firstPosition = 0, lastPosition = 0] = await log.locate([
      { streamName, revision: events.first },
      { streamName, revision: events.last },
    ]);
    return { streamId, nextExpectedVersion: toSafeNumber(events.last + 1n, 'stream version'), firstPosition, lastPosition };
  }

  async function appendEvents(streamId: string, events: EventData[], expected: ExpectedVersion): Promise<AppendResult> {
    const streamName = names.stream(streamId);
    if (events.length === 0) {
      // Nothing is sent: the expectation is checked against the stream's last event, and the
      // positions point at that event, as in every adapter.
      const [last] = await collect(
        client.readStream(streamName, { direction: BACKWARDS, fromRevision: END, maxCount: 1, resolveLinkTos: false }),
      );
      const event = last?.event;
      const current = event ? toSafeNumber(event.revision + 1n, 'stream version') : 0;
      // The same check ESDB makes for the appends it is sent.
      checkExpectedVersion(streamId, expected, current);
      if (!event) return { streamId, nextExpectedVersion: 0, firstPosition: 0, lastPosition: 0 };
      const [position = 0] = await log.locate([{ streamName, revision: event.revision, position: event.position }]);
      return { streamId, nextExpectedVersion: current, firstPosition: position, lastPosition: position };
    }
    await log.start();
    let lastRevision: bigint;
    try {
      const written = await client.appendToStream(streamName, events, { expectedRevision: toExpectedRevision(expected) });
      lastRevision = written.nextExpectedRevision;
    } catch (error) {
      throw toWrongExpectedVersion(streamId, expected, error) ?? error;
    }
    // The events are committed; they get their global positions when linked into the log.
    await log.sync();
    return resultOf(streamId, { first: lastRevision - BigInt(events.length - 1), last: lastRevision });
  }

  async function append(streamId: string, events: EventData[], options: AppendOptions, eventIds: string[]): Promise<AppendResult> {
    const expected = options.expectedVersion ?? 'any';
    const idempotency = options.idempotency;
    if (!idempotency) return appendEvents(streamId, events, expected);
    // Claimed before the version is checked: a retry of an append that already succeeded must be
    // told "already done", not "conflict".
    const claim = await keys.claim(idempotency, streamId, eventIds);
    let result: AppendResult;
    try {
      result = await appendEvents(streamId, events, expected);
    } catch (error) {
      // Only when the server surely did not write: otherwise the claim stays open and is
      // completed or released by whoever finds it after its lease.
      if (isRefusal(error)) await keys.release(claim);
      throw error;
    }
    await keys.complete(claim, result);
    return result;
  }

  /**
   * EventStoreDB has no side table to index subjects in, and its server-side filters match
   * stream names and event types, never metadata: so this scans the store's log from `after`
   * and keeps the events whose metadata names the subject, until `limit` are found or the log
   * ends. A caller paging on with the last position it got scans the log once in all; a
   * subject with few events in a long log still costs a read of the whole log. (An index
   * would be a server-side projection linking each event into a per-subject stream; that
   * needs the projections subsystem enabled, which this adapter does not assume.)
   */
  async function readBySubject(subjectId: string, after: number, limit: number): Promise<RecordedEvent[]> {
    const found: RecordedEvent[] = [];
    if (limit === 0) return found;
    await log.sync();
    let position = after;
    for (;;) {
      const page = await log.read(position, settings.batchSize);
      for (const event of page) {
        if (!event.metadata.subjectIds?.includes(subjectId)) continue;
        found.push(event);
        if (found.length === limit) return found;
      }
      const last = page.at(-1);
      if (!last) return found;
      position = last.globalPosition;
    }
  }

  /** A live `$all` subscription (server-side stream-name filter) that wakes idle subscribers. */
  function ensureWake(): void {
    if (wake || closed.signal.aborted) return;
    const subscription = client.subscribeToAll({
      fromPosition: END,
      filter: streamNameFilter({ regex: names.wakeFilterRegex }),
    });
    wake = subscription;
    subscription.listen(
      () => commits.notify(),
      () => {
        // Dropped (server restart, network): polling covers the gap, the next round resubscribes.
        if (wake === subscription) wake = undefined;
        subscription.stop().catch(() => undefined);
      },
    );
  }

  async function* subscription(after: number, signal: AbortSignal): AsyncGenerator<RecordedEvent> {
    let position = after;
    while (!signal.aborted) {
      // Read before looking, so a link made while we look still wakes the wait below.
      const seen = commits.sequence;
      let page: RecordedEvent[];
      try {
        ensureWake();
        page = await track(log.read(position, settings.batchSize));
        if (page.length === 0) {
          // Caught up with the log: link whatever else is committed (a writer may have died
          // before linking its events), then look once more before waiting.
          await track(log.sync());
          page = await track(log.read(position, settings.batchSize));
        }
      } catch (error) {
        // close() may dispose the client under a read that was in flight.
        if (signal.aborted) return;
        throw error;
      }
      if (page.length === 0) {
        await commits.next(seen, settings.pollIntervalMs, signal);
        continue;
      }
      for (const event of page) {
        yield event;
        position = event.globalPosition;
        // The consumer may have aborted (or closed the store) while it held this event.
        if (signal.aborted) return;
      }
    }
  }

  return {
    async append(streamId, events, appendOptions = {}) {
      assertOpen();
      if (appendOptions.expectedVersion !== undefined) assertExpectedVersion(appendOptions.expectedVersion);
      names.stream(streamId); // validates the id before anything is written
      const eventData = events.map(toEventData);
      return track(append(streamId, eventData, appendOptions, events.map((e) => e.eventId)));
    },

    async findIdempotentResult(key) {
      assertOpen();
      return track(keys.find(key));
    },

    async readStream(streamId, readOptions = {}) {
      assertOpen();
      const afterVersion = nonNegativeInteger(readOptions.afterVersion ?? 0, 'afterVersion');
      const streamName = names.stream(streamId);
      return track(
        (async () => {
          // Version v is revision v - 1, so the first version after `afterVersion` is revision `afterVersion`.
          const resolved = await collect(
            client.readStream(streamName, { fromRevision: BigInt(afterVersion), direction: FORWARDS, resolveLinkTos: false }),
          );
          const events = resolved.flatMap((r) => (r.event ? [r.event] : []));
          const positions = await log.locate(
            events.map((event) => ({ streamName, revision: event.revision, position: event.position })),
          );
          return events.map((event, i) => toRecordedEvent(event, streamId, positions[i] ?? 0));
        })(),
      );
    },

    async readAll(readOptions = {}) {
      assertOpen();
      const after = nonNegativeInteger(readOptions.after ?? 0, 'after');
      const limit = nonNegativeInteger(readOptions.limit ?? settings.batchSize, 'limit');
      return track(
        (async () => {
          // Links what is committed but not yet linked (e.g. by a writer that died), then reads.
          await log.sync();
          if (!readOptions.types) return log.read(after, limit);
          // No server-side filter on the log: pages are read and filtered here.
          const wanted = new Set(readOptions.types);
          const found: RecordedEvent[] = [];
          for (let from = after; found.length < limit; ) {
            const page = await log.read(from, limit);
            for (const event of page) if (wanted.has(event.type) && found.length < limit) found.push(event);
            if (page.length < limit) break;
            from = page[page.length - 1]!.globalPosition;
          }
          return found;
        })(),
      );
    },

    async readBySubject(subjectId, readOptions = {}) {
      assertOpen();
      const after = nonNegativeInteger(readOptions.after ?? 0, 'after');
      const limit = nonNegativeInteger(readOptions.limit ?? settings.batchSize, 'limit');
      return track(readBySubject(subjectId, after, limit));
    },

    async headPosition() {
      assertOpen();
      return track(log.head());
    },

    subscribe(subscribeOptions = {}): AsyncIterable<RecordedEvent> {
      const after = nonNegativeInteger(subscribeOptions.after ?? 0, 'after');
      const signal = subscribeOptions.signal ? AbortSignal.any([closed.signal, subscribeOptions.signal]) : closed.signal;
      return subscription(after, signal);
    },

    close() {
      closing ??= (async () => {
        closed.abort();
        await Promise.allSettled([...inflight]);
        const live = wake;
        wake = undefined;
        await live?.stop().catch(() => undefined);
        await client.dispose();
      })();
      return closing;
    },
  };
}

/** True when the server surely wrote nothing: the append was refused, not lost on the way. */
export function isRefusal(error: unknown): boolean {
  return (
    error instanceof WrongExpectedVersion ||
    error instanceof RangeError ||
    error instanceof MaxAppendSizeExceededError ||
    error instanceof InvalidArgumentError ||
    error instanceof AccessDeniedError ||
    error instanceof StreamDeletedError ||
    error instanceof NotLeaderError
  );
}
