/**
 * EventStore port. Adapters (SQLite, PostgreSQL, EventStoreDB) implement it and all pass
 * the one contract suite in `test/src/contracts/event-store.contract.ts`.
 *
 * Payloads are opaque JSON to the store: personal fields are already sealed before an
 * event reaches `append`, so no adapter ever sees plaintext personal data.
 */

/** Clear metadata that travels with every event. Never holds personal data. */
export interface EventMetadata {
  /** Every data subject the event carries data of, or links to. Random ids, never derived from personal data. */
  subjectIds: string[];
  commandId?: string;
  commandType?: string;
  correlationId?: string;
  causationId?: string;
  /** The principal (JWT `sub`) that issued the command. */
  actor?: string;
}

export interface EventToAppend {
  /** UUID v7, unique across the store. Bound into the seal of every personal value the event carries. */
  eventId: string;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: EventMetadata;
}

export interface RecordedEvent extends EventToAppend {
  streamId: string;
  /** 1-based position inside the stream: the first event of a stream has version 1. */
  streamVersion: number;
  /** 1-based, gap-free, strictly increasing position across the whole store. */
  globalPosition: number;
  /** ISO-8601 time at which the store committed the event. */
  recordedAt: string;
}

/**
 * What the writer expects the stream's current version to be:
 * a number (0 means the stream must not exist yet), `'no-stream'` (same as 0),
 * `'exists'` (at least one event), or `'any'` (no check).
 */
export type ExpectedVersion = number | 'no-stream' | 'exists' | 'any';

export interface IdempotencyRecord {
  /** Caller-chosen key (Idempotency-Key header or command id). */
  key: string;
  /** What kind of request the key was first used for (the command type); a key reused for another kind is refused. */
  scope: string;
  /** JSON answer to return on a retry. Must not hold personal data. */
  reply: unknown;
}

export interface AppendOptions {
  expectedVersion?: ExpectedVersion;
  /** When set, the append is recorded under this key atomically with the events. */
  idempotency?: IdempotencyRecord;
}

export interface AppendResult {
  streamId: string;
  /** The stream's version after the append. */
  nextExpectedVersion: number;
  firstPosition: number;
  lastPosition: number;
}

export interface StoredIdempotentResult {
  scope: string;
  result: AppendResult;
  reply: unknown;
}

export interface ReadAllOptions {
  /** Return events with globalPosition strictly greater than this. Default 0 (from the start). */
  after?: number;
  /** Maximum number of events to return. Default: adapter-defined batch size. */
  limit?: number;
  /**
   * Only events of these types (still in global order, `limit` counting only them): a
   * rebuild of a view that uses few types reads few events. Default: every type.
   */
  types?: readonly string[];
}

export interface ReadBySubjectOptions {
  /** Return events with globalPosition strictly greater than this. Default 0 (from the start). */
  after?: number;
  /** Maximum number of events to return. Default: adapter-defined batch size. */
  limit?: number;
}

export interface ReadStreamOptions {
  /** Return events with streamVersion strictly greater than this. Default 0. */
  afterVersion?: number;
}

export interface SubscribeOptions {
  /** Deliver events with globalPosition strictly greater than this. Default 0. */
  after?: number;
  /** Ends the subscription: the iterator returns once aborted. */
  signal?: AbortSignal;
}

export interface EventStore {
  /**
   * Appends events to one stream atomically: all of them or none. Throws
   * `WrongExpectedVersion` when the expectation fails, and `DuplicateIdempotencyKey`
   * when `idempotency.key` was already used (the caller then reads the stored result).
   */
  append(streamId: string, events: EventToAppend[], options?: AppendOptions): Promise<AppendResult>;
  /** The stored result of an earlier append made under this idempotency key, if any. */
  findIdempotentResult(key: string): Promise<StoredIdempotentResult | undefined>;
  /** All events of one stream in stream order; empty when the stream does not exist. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** Events of all streams in global order. */
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  /**
   * Every event whose `metadata.subjectIds` names the subject, of any stream, in global
   * order; one page of at most `limit` after `after`. Empty for an unknown subject. What a
   * data-subject access (Art. 15) or erasure reads instead of the whole log: the SQL stores
   * keep an index beside the events, written in the same transaction as the append.
   */
  readBySubject(subjectId: string, options?: ReadBySubjectOptions): Promise<RecordedEvent[]>;
  /** The global position of the last committed event, 0 for an empty store. */
  headPosition(): Promise<number>;
  /**
   * Catch-up then live subscription to all events in global order, without gaps:
   * first everything already stored after `after`, then each new event as it commits.
   */
  subscribe(options?: SubscribeOptions): AsyncIterable<RecordedEvent>;
  close(): Promise<void>;
}
