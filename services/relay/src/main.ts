import { createLogger } from '@crm/core';
import { createKafkaPublisher, parseKafkaUrl } from '@crm/kafka';
import { ConfigError, loadConfig, openCheckpoints, openEventStore } from '@crm/runtime';
import { runRelay } from './relay.ts';

/**
 * The relay as its own process (with CRM_RELAY=off in the API): event store → Kafka, from a
 * stored checkpoint. Settings come from the one configuration loader:
 *   CRM_EVENT_STORE=sqlite:<path>|postgres://…|esdb://…  CRM_BUS=kafka://host:port  [CRM_KAFKA_TOPIC, CRM_RELAY_BATCH_SIZE]
 * It opens no key store and no master key: it moves sealed events and never needs to open one.
 * SIGTERM/SIGINT stop it after the batch in hand was published and checkpointed.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const bus = config.bus;
  if (bus.kind !== 'kafka') {
    throw new ConfigError('CRM_BUS must be kafka://host:port[,host:port]: the relay feeds Kafka (the in-process bus reads the event store directly and needs no relay)');
  }
  let brokers: string[];
  try {
    brokers = parseKafkaUrl(bus.url);
  } catch (error) {
    throw new ConfigError(`CRM_BUS: ${error instanceof Error ? error.message : 'not a Kafka URL'}`);
  }
  const logger = createLogger({ level: config.logLevel });
  const stopping = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info('stopping', { signal });
      stopping.abort();
    });
  }
  const eventStore = await openEventStore(config);
  const checkpoints = await openCheckpoints(config);
  await Promise.all([eventStore.ready, checkpoints.ready]);
  const publisher = createKafkaPublisher({ brokers, clientId: bus.clientId, topic: bus.topic, partitions: bus.partitions, replicationFactor: bus.replicationFactor, logger });
  try {
    await runRelay({ eventStore, publisher, checkpoints, batchSize: config.relayBatchSize, signal: stopping.signal, logger });
  } finally {
    await publisher.close();
    await checkpoints.close();
    await eventStore.close();
  }
}

main().catch((error: unknown) => {
  // A configuration error is ours and safe to print; anything else by its name only.
  const text = error instanceof ConfigError ? `Configuration error: ${error.message}` : `Relay failed: ${error instanceof Error ? error.name : 'unknown error'}`;
  process.stderr.write(`${text}\n`);
  process.exit(1);
});
