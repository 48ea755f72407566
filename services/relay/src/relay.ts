import { type BusPublisher, type CheckpointStore, createLogger, type EventStore, type Logger, pause } from '@crm/core';
import { readyBatches } from './ready-batches.ts';

export interface RelayOptions {
  eventStore: EventStore;
  publisher: BusPublisher;
  checkpoints: CheckpointStore;
  /** The checkpoint's name: one per relay target. Default `relay:kafka`. */
  name?: string;
  /** Most events per publish. Default 500. */
  batchSize?: number;
  /** Stops the relay after the batch in hand is published and checkpointed. */
  signal: AbortSignal;
  /** Called after each batch was acknowledged by the bus and checkpointed. */
  onPublished?(progress: RelayProgress): void;
  /** First delay before publishing a failed batch again; doubles up to 10 s. Default 200 ms. */
  retryDelayMs?: number;
  logger?: Logger;
}

export interface RelayProgress {
  /** Events published by this run, including any re-published after a restart. */
  published: number;
  /** Batches published by this run. */
  batches: number;
  /** Global position of the last event the bus acknowledged, now the checkpoint. */
  lastPosition: number;
  /** Events committed to the store and not yet published, as of the last batch. */
  lag: number;
  /** Publish attempts that failed and were retried. */
  failedPublishes: number;
}

const MAX_RETRY_DELAY_MS = 10_000;

/**
 * Moves committed events from the event store to the bus, in global order, from a stored
 * checkpoint. The checkpoint is stored only after the bus acknowledged a batch, so a crash
 * in between publishes that batch again on restart: at-least-once, never lost — consumers
 * de-duplicate by event id. The command path never touches the bus (no dual write).
 * Resolves with the final figures once `signal` aborts.
 */
export async function runRelay(options: RelayOptions): Promise<RelayProgress> {
  const { eventStore, publisher, checkpoints, signal } = options;
  const name = options.name ?? 'relay:kafka';
  const batchSize = options.batchSize ?? 500;
  const logger = (options.logger ?? createLogger()).child({ component: 'relay', relay: name });
  const progress: RelayProgress = { published: 0, batches: 0, lastPosition: await checkpoints.load(name), lag: 0, failedPublishes: 0 };
  logger.info('relay started', { from: progress.lastPosition, batchSize });

  for await (const batch of readyBatches(eventStore.subscribe({ after: progress.lastPosition, signal }), batchSize)) {
    const last = batch[batch.length - 1]!.globalPosition;
    for (let delay = options.retryDelayMs ?? 200; ; delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS)) {
      try {
        await publisher.publish(batch);
        break;
      } catch (error) {
        progress.failedPublishes++;
        // The error's name only: a bus client's message is not ours to vouch for.
        logger.warn('publish failed; the batch is published again', { kind: errorKind(error), firstPosition: batch[0]!.globalPosition, lastPosition: last, retryInMs: delay });
        if (!(await pause(delay, signal))) return progress; // stopped: not checkpointed, published after restart
      }
    }
    await checkpoints.store(name, last);
    progress.published += batch.length;
    progress.batches++;
    progress.lastPosition = last;
    progress.lag = Math.max(0, (await eventStore.headPosition()) - last);
    logger.debug('published', { events: batch.length, published: progress.published, lastPosition: last, lag: progress.lag });
    options.onPublished?.({ ...progress });
  }
  logger.info('relay stopped', { published: progress.published, lastPosition: progress.lastPosition });
  return progress;
}

function errorKind(error: unknown): string {
  return error instanceof Error && /^[A-Za-z][\w.-]{0,63}$/.test(error.name) ? error.name : 'Error';
}
