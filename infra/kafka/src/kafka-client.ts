import kafkajs from 'kafkajs';
import type { Logger } from '@crm/core';

const { Kafka, logLevel } = kafkajs;

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  /** Where kafkajs' own log lines go; they pass through the one redacting logger. */
  logger?: Logger;
}

/**
 * A kafkajs client whose log lines go to our logger with a few flat fields. kafkajs'
 * INFO lines (joins, rebalances) become debug. Only string errors are kept (broker
 * error names): an error *object* could be a handler's, whose message is not ours to print.
 */
export function createKafkaClient(options: KafkaClientOptions): kafkajs.Kafka {
  const logger = options.logger;
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    logLevel: logger ? logLevel.INFO : logLevel.NOTHING,
    logCreator: () => ({ namespace, level, log }) => {
      if (!logger) return;
      const fields = {
        namespace,
        broker: typeof log.broker === 'string' ? log.broker : undefined,
        kafkaError: typeof log.error === 'string' ? log.error : undefined,
      };
      if (level === logLevel.ERROR) logger.error(`kafka: ${log.message}`, fields);
      else if (level === logLevel.WARN) logger.warn(`kafka: ${log.message}`, fields);
      else logger.debug(`kafka: ${log.message}`, fields);
    },
  });
}
