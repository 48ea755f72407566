import kafkajs from 'kafkajs';
import { attemptHandler, type BusConsumer, createLogger, errorKindOf, type Logger, positiveInteger, type RecordedEvent } from '@crm/core';
import { type DeadLetterCause, deadLetterMessage, type OriginalPosition } from './dead-letter.ts';
import { decodeEventMessage } from './event-message.ts';
import { createKafkaClient } from './kafka-client.ts';
import { ensureTopic } from './topic.ts';

export interface KafkaConsumerOptions {
  brokers: string[];
  clientId: string;
  topic: string;
  /** Where messages go that cannot be decoded or whose handler kept failing. Default `<topic>.dlq`. */
  deadLetterTopic?: string;
  /** Handler attempts before an event is dead-lettered. Default 3. */
  maxAttempts?: number;
  /** Delay before the second attempt, doubled for each further one. Default 200 ms. */
  retryDelayMs?: number;
  /** Used if this consumer is the first to create the topic; same defaults as the publisher. */
  partitions?: number;
  replicationFactor?: number;
  /** How long the group waits for a silent member before handing its partitions on. Default 30 s (kafkajs). */
  sessionTimeoutMs?: number;
  logger?: Logger;
}

/** kafkajs gave up on the consumer (a non-retriable error); the kind only, like every error we keep. */
export class KafkaConsumerCrashed extends Error {
  override name = 'KafkaConsumerCrashed';
}

/**
 * Consumes a topic in a consumer group, one message at a time per partition. The group's
 * offset of a message is committed only after its handler resolved — or after the message
 * was dead-lettered — so a crash or a rebalance redelivers rather than loses
 * (at-least-once; handlers de-duplicate by event id or stream version).
 */
export function createKafkaConsumer(options: KafkaConsumerOptions): BusConsumer {
  const maxAttempts = positiveInteger(options.maxAttempts ?? 3, 'maxAttempts');
  const retryDelayMs = options.retryDelayMs ?? 200;
  const deadLetterTopic = options.deadLetterTopic ?? `${options.topic}.dlq`;
  const replicationFactor = positiveInteger(options.replicationFactor ?? 1, 'replicationFactor');
  const logger = (options.logger ?? createLogger()).child({ component: 'kafka-consumer', topic: options.topic });

  return {
    async consume({ group, handle, handleBatch, onDeadLettered, maxBatchSize = 500, startAfter = 0, signal = new AbortController().signal }) {
      const runSize = positiveInteger(maxBatchSize, 'maxBatchSize');
      if (signal.aborted) return;
      const kafka = createKafkaClient({ brokers: options.brokers, clientId: options.clientId, logger });
      await ensureTopic(kafka, { topic: options.topic, partitions: positiveInteger(options.partitions ?? 6, 'partitions'), replicationFactor });
      await ensureTopic(kafka, { topic: deadLetterTopic, partitions: 1, replicationFactor });
      const consumer = kafka.consumer({
        groupId: group,
        ...(options.sessionTimeoutMs ? { sessionTimeout: options.sessionTimeoutMs, heartbeatInterval: Math.max(100, Math.floor(options.sessionTimeoutMs / 10)) } : {}),
      });
      const deadLetters = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });

      const sendDeadLetter = async (cause: DeadLetterCause, original: OriginalPosition, event?: Parameters<typeof handle>[0]) => {
        await deadLetters.send({ topic: deadLetterTopic, acks: -1, messages: [deadLetterMessage(cause, group, original, event)] });
        logger.warn('message dead-lettered', {
          group,
          partition: original.partition,
          offset: original.offset,
          reason: cause.reason,
          kind: cause.kind,
          attempts: cause.reason === 'handler-failed' ? cause.attempts : undefined,
          eventId: event?.eventId,
          eventType: event?.type,
        });
      };

      await consumer.connect();
      try {
        await deadLetters.connect();
        await consumer.subscribe({ topic: options.topic, fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
          // Aborted while connecting: stop before running.
          if (signal.aborted) return resolve();
          signal.addEventListener('abort', () => resolve(), { once: true });
          consumer.on(consumer.events.CRASH, ({ payload }) => {
            if (!payload.restart) reject(new KafkaConsumerCrashed(`The Kafka consumer stopped: ${errorKindOf(payload.error)}`));
          });
          consumer
            .run({
              autoCommit: false,
              // One offset commit per fetched batch, after every message of it was handled (or
              // dead-lettered): a commit per message would cap a consumer at a few thousand a second.
              eachBatchAutoResolve: false,
              eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
                const { topic, partition } = batch;
                let handled: string | undefined;
                const stopping = () => signal.aborted || !isRunning() || isStale();
                /** Handles one event with its own attempts; false when stopped before it was handled. */
                const handleOne = async (event: RecordedEvent, original: OriginalPosition): Promise<boolean> => {
                  const outcome = await attemptHandler(() => handle(event), { maxAttempts, retryDelayMs, signal, beforeRetry: heartbeat });
                  if (outcome.kind === 'stopped') return false;
                  if (outcome.kind === 'failed') {
                    await sendDeadLetter({ reason: 'handler-failed', kind: outcome.errorKind, attempts: outcome.attempts }, original, event);
                    await onDeadLettered?.(event);
                  }
                  return true;
                };
                /** Marks messages up to `offset` done for this member; the group's commit follows below. */
                const done = async (offset: string) => {
                  handled = offset;
                  resolveOffset(offset);
                  await heartbeat();
                };
                let run: Array<{ event: RecordedEvent; original: OriginalPosition }> = [];
                /** Handles the run in one call (falling back to one by one); false when stopped. */
                const flush = async (): Promise<boolean> => {
                  if (run.length === 0) return true;
                  const current = run;
                  run = [];
                  if (handleBatch) {
                    try {
                      await handleBatch(current.flatMap((m) => (m.event.globalPosition > startAfter ? [m.event] : [])));
                      await done(current[current.length - 1]!.original.offset);
                      return true;
                    } catch {
                      // One bad event must not hold back the others: each gets its own attempts.
                    }
                  }
                  for (const { event, original } of current) {
                    if (stopping()) return false;
                    if (event.globalPosition > startAfter && !(await handleOne(event, original))) return false;
                    await done(original.offset);
                  }
                  return true;
                };
                for (const message of batch.messages) {
                  // Stopping or rebalanced away: leave the rest uncommitted for the group's next member.
                  if (stopping()) break;
                  const original = { topic, partition, offset: message.offset };
                  const decoded = decodeEventMessage(message);
                  if (!decoded.ok) {
                    if (!(await flush())) break;
                    await sendDeadLetter({ reason: 'undecodable', kind: decoded.kind }, original);
                    await done(message.offset);
                  } else if (decoded.event.globalPosition <= startAfter) {
                    // Already held by the state this group starts from.
                    if (run.length === 0) await done(message.offset);
                    else run.push({ event: decoded.event, original });
                  } else {
                    run.push({ event: decoded.event, original });
                    if (!handleBatch || run.length >= runSize) {
                      if (!(await flush())) break;
                    }
                  }
                }
                if (!stopping()) await flush();
                if (handled !== undefined) {
                  await consumer.commitOffsets([{ topic, partition, offset: (BigInt(handled) + 1n).toString() }]);
                }
              },
            })
            .catch(reject);
        });
      } finally {
        // kafkajs waits for the message in hand to finish, then leaves the group.
        await consumer.disconnect();
        await deadLetters.disconnect();
      }
    },
  };
}
