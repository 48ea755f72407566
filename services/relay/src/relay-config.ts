import { dirname, resolve } from 'node:path';
import { type LogLevel, parseLogLevel } from '@crm/core';
import { parseKafkaUrl } from '@crm/kafka';

/** The relay process's settings, from the same variables as the API where they overlap. */
export interface RelayConfig {
  eventStore: { kind: 'sqlite'; path: string };
  checkpoints: { kind: 'sqlite'; path: string };
  kafka: { brokers: string[]; topic: string; clientId: string; partitions: number; replicationFactor: number };
  name: string;
  batchSize: number;
  logLevel: LogLevel;
}

export class RelayConfigError extends Error {
  override name = 'RelayConfigError';
}

export function loadRelayConfig(env: NodeJS.ProcessEnv = process.env): RelayConfig {
  const dataDir = resolve(env.CRM_DATA_DIR || './data');
  const eventStore = sqliteLocation(env.CRM_EVENT_STORE, 'CRM_EVENT_STORE', resolve(dataDir, 'events.sqlite'));
  // Beside the event store by default: the checkpoint belongs to that store's positions.
  const checkpoints = sqliteLocation(env.CRM_CHECKPOINT_STORE, 'CRM_CHECKPOINT_STORE', resolve(dirname(eventStore.path), 'checkpoints.sqlite'));
  if (checkpoints.path === eventStore.path) throw new RelayConfigError('CRM_CHECKPOINT_STORE must not be the same file as CRM_EVENT_STORE');
  const bus = env.CRM_BUS ?? '';
  if (!bus.startsWith('kafka://')) {
    throw new RelayConfigError('CRM_BUS must be kafka://host:port[,host:port]: the relay feeds Kafka (the in-process bus reads the event store directly and needs no relay)');
  }
  let brokers: string[];
  try {
    brokers = parseKafkaUrl(bus);
  } catch (error) {
    throw new RelayConfigError(`CRM_BUS: ${error instanceof Error ? error.message : 'not a Kafka URL'}`);
  }
  return {
    eventStore,
    checkpoints,
    kafka: {
      brokers,
      topic: env.CRM_KAFKA_TOPIC || 'crm.events',
      clientId: env.CRM_KAFKA_CLIENT_ID || 'crm-relay',
      partitions: integer(env, 'CRM_KAFKA_PARTITIONS', 6, 1, 10_000),
      replicationFactor: integer(env, 'CRM_KAFKA_REPLICATION_FACTOR', 1, 1, 100),
    },
    name: env.CRM_RELAY_NAME || 'relay:kafka',
    batchSize: integer(env, 'CRM_RELAY_BATCH_SIZE', 500, 1, 100_000),
    logLevel: parseLogLevel(env.CRM_LOG_LEVEL),
  };
}

function sqliteLocation(value: string | undefined, name: string, fallback: string): { kind: 'sqlite'; path: string } {
  if (value === undefined || value === '' || value === 'sqlite') return { kind: 'sqlite', path: fallback };
  if (value.startsWith('sqlite:')) return { kind: 'sqlite', path: resolve(value.slice('sqlite:'.length)) };
  throw new RelayConfigError(`${name}: only sqlite or sqlite:<path> is supported by the relay in this build`);
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new RelayConfigError(`${name} must be an integer from ${min} to ${max}`);
  return value;
}
