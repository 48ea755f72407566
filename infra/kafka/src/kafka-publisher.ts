import kafkajs from 'kafkajs';
import { positiveInteger, type BusPublisher, type Logger } from '@crm/core';
import { encodeEventMessage } from './event-message.ts';
import { createKafkaClient } from './kafka-client.ts';
import { ensureTopic } from './topic.ts';

export interface KafkaPublisherOptions {
  brokers: string[];
  clientId: string;
  topic: string;
  /** Used when the topic is created. Default 6. */
  partitions?: number;
  /** Used when the topic is created. Default 1 (one local broker); 3 in production. */
  replicationFactor?: number;
  logger?: Logger;
}

/**
 * Publishes stored events to one topic, keyed by stream id. The producer is idempotent
 * (acks from all in-sync replicas, one request in flight per broker connection), so a
 * retry inside kafkajs neither duplicates nor reorders a partition's messages. A retry
 * of a whole batch by the relay after a crash can still duplicate: consumers de-duplicate.
 */
export function createKafkaPublisher(options: KafkaPublisherOptions): BusPublisher {
  const layout = {
    topic: options.topic,
    partitions: positiveInteger(options.partitions ?? 6, 'partitions'),
    replicationFactor: positiveInteger(options.replicationFactor ?? 1, 'replicationFactor'),
  };
  const kafka = createKafkaClient(options);
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    // Explicit, so kafkajs does not warn; the Java client's murmur2 placement by key.
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
  });
  let started: Promise<void> | undefined;
  const start = () =>
    (started ??= (async () => {
      await ensureTopic(kafka, layout);
      await producer.connect();
    })().catch((error: unknown) => {
      started = undefined; // the next publish tries again
      throw error;
    }));

  return {
    async publish(events) {
      if (events.length === 0) return;
      await start();
      // One send: kafkajs groups the messages per partition, keeping their order in each.
      await producer.send({ topic: layout.topic, acks: -1, messages: events.map(encodeEventMessage) });
    },
    async close() {
      if (started) await producer.disconnect();
    },
  };
}
