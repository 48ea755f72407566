import { type Observable, Subject } from 'rxjs';
import { attemptHandler, runsOf, type BusConsumer, type BusPublisher, type CheckpointStore, createLogger, type EventStore, type Logger, positiveInteger, type RecordedEvent } from '@crm/core';
import { createDeadLetters, type DeadLetters } from './dead-letters.ts';

export interface InProcessBusOptions {
  eventStore: EventStore;
  /** Holds each consumer group's offset: the global position it finished with. */
  checkpoints: CheckpointStore;
  /** Handler attempts before an event is dead-lettered. Default 3. */
  maxAttempts?: number;
  /** Delay before the second attempt, doubled for each further one. Default 50 ms. */
  retryDelayMs?: number;
  logger?: Logger;
}

export interface InProcessBus {
  publisher: BusPublisher;
  consumer: BusConsumer;
  /** What was published, live and best-effort (observers, metrics). Consumers never depend on it. */
  published$: Observable<RecordedEvent>;
  deadLetters: DeadLetters;
}

/** The checkpoint name under which a consumer group's offset is kept. */
export const groupCheckpointName = (group: string): string => `bus-group:${group}`;

/** Two members of one group in one process would each see every event: the in-process bus has one per group. */
export class ConsumerGroupBusy extends Error {
  override name = 'ConsumerGroupBusy';
}

/**
 * The embedded default's bus. The event store already is an ordered, durable log, so a
 * consumer group reads it directly through the store's catch-up subscription, from its
 * checkpoint, and stores the checkpoint after each handler resolved: at-least-once and
 * global (hence per-stream) order, across restarts, with no second copy of any event.
 * Publishing therefore moves nothing; it only tells live observers.
 */
export function createInProcessBus(options: InProcessBusOptions): InProcessBus {
  const maxAttempts = positiveInteger(options.maxAttempts ?? 3, 'maxAttempts');
  const retryDelayMs = options.retryDelayMs ?? 50;
  const logger = (options.logger ?? createLogger()).child({ component: 'in-process-bus' });
  const published = new Subject<RecordedEvent>();
  const deadLetters = createDeadLetters();
  const activeGroups = new Set<string>();

  const publisher: BusPublisher = {
    async publish(events) {
      for (const event of events) published.next(event);
    },
    async close() {
      published.complete();
      deadLetters.close();
    },
  };

  const consumer: BusConsumer = {
    async consume({ group, handle, handleBatch, onDeadLettered, maxBatchSize = 500, startAfter, signal = new AbortController().signal }) {
      if (activeGroups.has(group)) throw new ConsumerGroupBusy(`Consumer group ${group} already has a member in this process`);
      activeGroups.add(group);
      try {
        const checkpoint = groupCheckpointName(group);
        // A consumer that keeps its own position (a projector, beside its documents) is read from
        // there: after a power loss its store may be behind the group's checkpoint, never ahead.
        const after = startAfter ?? (await options.checkpoints.load(checkpoint));
        // Such a consumer's position is its own: storing the group's too would only cost a synchronous write per run.
        const ownsPosition = startAfter !== undefined;
        const passed = async (position: number) => {
          if (!ownsPosition) await options.checkpoints.store(checkpoint, position);
        };
        const deadLetter = (event: RecordedEvent, outcome: { attempts: number; errorKind: string }) => {
          const letter = {
            group,
            eventId: event.eventId,
            type: event.type,
            streamId: event.streamId,
            streamVersion: event.streamVersion,
            globalPosition: event.globalPosition,
            attempts: outcome.attempts,
            errorKind: outcome.errorKind,
            at: new Date().toISOString(),
          };
          deadLetters.record(letter);
          logger.warn('event dead-lettered', { ...letter, at: undefined });
        };
        /** Handles one event with retries; false when stopped (the event is then not checkpointed). */
        const handleOne = async (event: RecordedEvent): Promise<boolean> => {
          const outcome = await attemptHandler(() => handle(event), { maxAttempts, retryDelayMs, signal });
          if (outcome.kind === 'stopped') return false;
          if (outcome.kind === 'failed') {
            deadLetter(event, outcome);
            await onDeadLettered?.(event);
          }
          return true;
        };
        const events = options.eventStore.subscribe({ after, signal });
        if (!handleBatch) {
          for await (const event of events) {
            // Not checkpointed: the next member of the group gets this event again.
            if (!(await handleOne(event))) return;
            await passed(event.globalPosition);
          }
          return;
        }
        for await (const run of runsOf(events, positiveInteger(maxBatchSize, 'maxBatchSize'))) {
          if (signal.aborted) return;
          let done = run.length;
          try {
            await handleBatch(run);
          } catch {
            // One bad event must not hold back the others: each gets its own attempts.
            done = 0;
            for (const event of run) {
              if (!(await handleOne(event))) break;
              done++;
            }
          }
          if (done > 0) await passed(run[done - 1]!.globalPosition);
          if (done < run.length) return;
        }
      } finally {
        activeGroups.delete(group);
      }
    },
  };

  return { publisher, consumer, published$: published.asObservable(), deadLetters };
}
