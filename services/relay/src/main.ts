import { createLogger } from '@crm/core';
import { createKafkaPublisher } from '@crm/kafka';
import { openSqliteEventStore } from '@crm/sqlite';
import { openInterimSqliteCheckpoints } from './interim-sqlite-checkpoints.ts';
import { runRelay } from './relay.ts';
import { loadRelayConfig, RelayConfigError } from './relay-config.ts';

/**
 * The relay process: event store → Kafka, from a stored checkpoint.
 *   CRM_EVENT_STORE=sqlite:<path>  CRM_BUS=kafka://host:port  node --import tsx services/relay/src/main.ts
 * SIGTERM/SIGINT stop it after the batch in hand was published and checkpointed.
 */
async function main(): Promise<void> {
  const config = loadRelayConfig();
  const logger = createLogger({ level: config.logLevel });
  const stopping = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info('stopping', { signal });
      stopping.abort();
    });
  }
  const eventStore = openSqliteEventStore({ path: config.eventStore.path });
  const checkpoints = openInterimSqliteCheckpoints(config.checkpoints.path);
  const publisher = createKafkaPublisher({ ...config.kafka, logger });
  try {
    await runRelay({ eventStore, publisher, checkpoints, name: config.name, batchSize: config.batchSize, signal: stopping.signal, logger });
  } finally {
    await publisher.close();
    await checkpoints.close();
    await eventStore.close();
  }
}

main().catch((error: unknown) => {
  // A configuration error is ours and safe to print; anything else by its name only.
  const text = error instanceof RelayConfigError ? error.message : error instanceof Error ? error.name : 'unknown error';
  process.stderr.write(`${error instanceof RelayConfigError ? 'Configuration error' : 'Relay failed'}: ${text}\n`);
  process.exit(1);
});
