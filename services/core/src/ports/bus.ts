/**
 * Bus port: committed events, in global order per stream, to consumers in groups.
 *
 * Events reach the bus only from the relay (`services/relay`), which reads the event
 * store from a stored checkpoint: the command path never writes to the bus (no dual
 * write). Messages carry the sealed payload exactly as stored — never plaintext.
 *
 * Delivery is at-least-once: a consumer group's offset advances only after its handler
 * returned, so handlers must be idempotent (e.g. keyed by `eventId` or guarded by
 * `streamVersion`).
 */
import type { RecordedEvent } from './event-store.ts';

export interface BusPublisher {
  /** Publishes in the given order; resolves once the bus durably holds every message. */
  publish(events: readonly RecordedEvent[]): Promise<void>;
  close(): Promise<void>;
}

export interface ConsumeOptions {
  /** Consumer group: each group sees every event once (at least once); members of a group share the work. */
  group: string;
  /** Called per event, in stream order within a stream. A throw is retried, then dead-lettered. */
  handle(event: RecordedEvent): Promise<void>;
  /**
   * Optional: called with runs of consecutive events (of one partition, in order) instead of
   * `handle` one by one, so a handler can write once per run. A throw falls back to `handle`
   * per event of the run, which retries and dead-letters each on its own. Both must be idempotent.
   */
  handleBatch?(events: readonly RecordedEvent[]): Promise<void>;
  /** Told of an event that was dead-lettered (its offset moves on without a handler having succeeded). */
  onDeadLettered?(event: RecordedEvent): Promise<void>;
  /** Most events per `handleBatch` call. Default 500. */
  maxBatchSize?: number;
  /**
   * Only events after this global position: a consumer that keeps its own position beside
   * its state (a projector) starts from there, and skips what a state built elsewhere (a
   * rebuild from the event store) already holds. The in-process bus starts exactly there;
   * Kafka resumes from the group's offsets and skips what is not after it. Default: the
   * group's own checkpoint.
   */
  startAfter?: number;
  /** Ends consumption; the promise of `consume` resolves after the last handler finished. */
  signal?: AbortSignal;
}

export interface BusConsumer {
  /** Consumes until `signal` aborts. Resolves once stopped; rejects on a fatal error. */
  consume(options: ConsumeOptions): Promise<void>;
}

/** A checkpoint per named reader (the relay, a projector), so a restart resumes where it stopped. */
export interface CheckpointStore {
  /** The last global position the reader finished with; 0 when none. */
  load(name: string): Promise<number>;
  /** Only moves forward: storing a lower position than the stored one changes nothing. */
  store(name: string, position: number): Promise<void>;
  close(): Promise<void>;
}
