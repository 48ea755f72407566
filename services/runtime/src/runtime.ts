import { v7 as uuidv7 } from 'uuid';
import {
  type BusConsumer,
  type BusPublisher,
  type CheckpointStore,
  CommandService,
  createLogger,
  type EventStore,
  Keyring,
  type KeyStore,
  loadMasterKeys,
  type Logger,
  type MasterKeySource,
  type AuditLog,
  type ReadStore,
} from '@crm/core';
import { createViewKeys, crmViews, type ViewKeys } from '@crm/projector';
import type { ViewDefinition } from '@crm/projections';
import { existsSync } from 'node:fs';
import { commandHandlers } from '@crm/domain';
import { createPrivacyIndex, createPrivacyScreen, type PrivacyIndex, type SuppressionHasher } from '@crm/privacy';
import { createInProcessBus } from '@crm/memory-bus';
import { openSqliteAuditLog, openSqliteCheckpointStore, openSqliteEventStore, openSqliteKeyStore, openSqliteReadStore } from '@crm/sqlite';
import { join } from 'node:path';
import { ConfigError, type CrmConfig, describeLocation } from './config.ts';

/** Everything a running CRM process holds: the composition root of ports and adapters. */
export interface CrmRuntime {
  config: CrmConfig;
  logger: Logger;
  eventStore: EventStore;
  keyStore: KeyStore;
  checkpoints: CheckpointStore;
  keyring: Keyring;
  commands: CommandService;
  /**
   * Consumers (projectors, downstream systems) read committed events here. `publisher` is
   * set when the bus must be fed from the store (Kafka): by the relay, never by commands.
   */
  bus: { consumer: BusConsumer; publisher?: BusPublisher };
  /** The read models' documents (personal fields sealed), and the views that write them. */
  readStore: ReadStore;
  /** Who read which subjects' personal data, and the DPO's actions: ids only, never the data. */
  audit: AuditLog;
  views: ViewDefinition[];
  viewKeys: ViewKeys;
  /**
   * The privacy state every process needs: the in-process privacy index (requests, holds,
   * restrictions, suppression hashes; started on first use) and the suppression hash. The
   * command service screens every command against it.
   */
  privacy: { index: PrivacyIndex; hash: SuppressionHasher; mode: CrmConfig['suppression'] };
  masterKeySource: MasterKeySource;
  close(): Promise<void>;
}

interface OpenBus {
  consumer: BusConsumer;
  /** What feeds the bus from the store, when it needs feeding (Kafka); the in-process bus reads the store itself. */
  publisher?: BusPublisher;
  close(): Promise<void>;
}

/*
 * The engines' drivers (pg, kafkajs, the MongoDB and EventStoreDB clients) are loaded only when
 * the configuration names their engine: the embedded default never loads them, which keeps
 * about 45 MiB out of its memory (the MongoDB driver alone allocates 17 MiB of buffers on load).
 */

async function openBus(config: CrmConfig, eventStore: EventStore, checkpoints: CheckpointStore, logger: Logger): Promise<OpenBus> {
  const location = config.bus;
  if (location.kind === 'memory') {
    const bus = createInProcessBus({ eventStore, checkpoints, logger });
    return { consumer: bus.consumer, close: () => bus.publisher.close() };
  }
  const { createKafkaConsumer, createKafkaPublisher, parseKafkaUrl } = await import('@crm/kafka');
  let brokers: string[];
  try {
    brokers = parseKafkaUrl(location.url);
  } catch (error) {
    throw new ConfigError(`CRM_BUS: ${error instanceof Error ? error.message : 'not a Kafka URL'}`);
  }
  const topic = { brokers, clientId: location.clientId, topic: location.topic, partitions: location.partitions, replicationFactor: location.replicationFactor, logger };
  const publisher = createKafkaPublisher(topic);
  return { consumer: createKafkaConsumer(topic), publisher, close: () => publisher.close() };
}

export async function openReadStore(config: CrmConfig): Promise<ReadStore> {
  const location = config.readStore;
  if (location.kind === 'sqlite') {
    // Views are rebuilt from the events, and each keeps its position beside its documents (and
    // restarts from there): no fsync per write. A power loss can cost the last writes, which
    // the projector then applies again; a process crash costs nothing (WAL).
    return openSqliteReadStore({ path: location.path, durable: false });
  }
  const { openMongoReadStore } = await import('@crm/mongodb');
  return openMongoReadStore({ url: location.url, database: location.database });
}

/** A 32-byte secret: from its variable, else the embedded file, else generated into it (with a warning). */
function loadSecret(value: string | undefined, file: string, variable: string, what: string, logger: Logger): Buffer {
  if (value) {
    const key = Buffer.from(value, 'base64');
    if (key.length !== 32) throw new ConfigError(`${variable} must be 32 bytes, base64-encoded`);
    return key;
  }
  const generated = !existsSync(file);
  const key = loadMasterKeys({}, file).keys.current.key;
  if (generated) logger.warn(`NO ${variable} SET: generated the secret of ${what} into the data directory.`, { file });
  return key;
}

/** The view secret: CRM_VIEW_KEY, else the embedded file, else generated into it. */
function loadViewKey(config: CrmConfig, logger: Logger): Buffer {
  return loadSecret(config.viewKey, config.viewKeyFile, 'CRM_VIEW_KEY', 'blind indexes and analytics pseudonyms', logger);
}

/**
 * The keyed hash of suppression entries: the view keys' HKDF and normalisation, under a secret
 * of its own (CRM_SUPPRESSION_KEY), so that changing the view secret (and rebuilding the views)
 * never makes an erased person unrecognisable. Every process of a deployment needs the same one.
 */
export function suppressionHasher(secret: Uint8Array): SuppressionHasher {
  const keys = createViewKeys(secret);
  return (field, value) => keys.blindIndex('suppression', field, value);
}

export async function openEventStore(config: CrmConfig): Promise<EventStore & { ready?: Promise<void> }> {
  const location = config.eventStore;
  switch (location.kind) {
    case 'sqlite':
      return openSqliteEventStore({ path: location.path, durable: config.durable });
    case 'postgres':
      return (await import('@crm/postgres')).openPostgresEventStore({ connectionString: location.url, schema: location.schema });
    case 'eventstoredb':
      return (await import('@crm/eventstoredb')).openEventStoreDbEventStore({ connectionString: location.url });
  }
}

export async function openKeyStore(config: CrmConfig): Promise<KeyStore & { ready?: Promise<void> }> {
  const location = config.keyStore;
  return location.kind === 'sqlite'
    ? openSqliteKeyStore({ path: location.path })
    : (await import('@crm/postgres')).openPostgresKeyStore({ connectionString: location.url, schema: location.schema });
}

/** Checkpoints live beside the events they point into, so a restore never leaves one past the log. */
export async function openCheckpoints(config: CrmConfig): Promise<CheckpointStore & { ready?: Promise<void> }> {
  const location = config.eventStore;
  switch (location.kind) {
    case 'sqlite':
      return openSqliteCheckpointStore({ path: location.path });
    case 'postgres':
      return (await import('@crm/postgres')).openPostgresCheckpointStore({ connectionString: location.url, schema: location.schema });
    case 'eventstoredb':
      // EventStoreDB keeps no side tables: the checkpoints take a small file in the data directory.
      return openSqliteCheckpointStore({ path: join(config.dataDir, 'checkpoints.sqlite') });
  }
}

export async function openRuntime(config: CrmConfig, logger: Logger = createLogger({ level: config.logLevel })): Promise<CrmRuntime> {
  const masterKeySource = loadMasterKeys(
    { ...(config.masterKey ? { masterKey: config.masterKey } : {}), ...(config.previousMasterKeys ? { previousMasterKeys: config.previousMasterKeys } : {}) },
    config.masterKeyFile,
  );
  if (masterKeySource.origin === 'generated') {
    logger.warn(
      'NO CRM_MASTER_KEY SET: generated a new master key into the data directory. Anyone who can read that file can read every personal field. Fine for a laptop; in production set CRM_MASTER_KEY from a secret store and keep key-store backups shorter-lived than data backups.',
      { file: masterKeySource.file },
    );
  }
  const eventStore = await openEventStore(config);
  const keyStore = await openKeyStore(config);
  const checkpoints = await openCheckpoints(config);
  const closeAll = async () => {
    await Promise.allSettled([eventStore.close(), keyStore.close(), checkpoints.close()]);
  };
  try {
    await Promise.all([eventStore.ready, keyStore.ready, checkpoints.ready]);
  } catch (error) {
    await closeAll();
    throw error;
  }
  logger.info('stores open', {
    eventStore: describeLocation(config.eventStore),
    keyStore: describeLocation(config.keyStore),
    bus: describeLocation(config.bus),
  });
  const keyring = new Keyring({ keyStore, masterKeys: masterKeySource.keys, cacheTtlMs: config.keyCacheTtlMs });
  const privacyIndex = createPrivacyIndex({ eventStore, logger });
  const hash = suppressionHasher(loadSecret(config.suppressionKey, config.suppressionKeyFile, 'CRM_SUPPRESSION_KEY', 'suppression entries (erased people)', logger));
  const screen = createPrivacyScreen({ index: privacyIndex, hash, mode: config.suppression });
  const commands = new CommandService({ eventStore, keyring, handlers: commandHandlers, newId: uuidv7, screen });
  const bus = await openBus(config, eventStore, checkpoints, logger);
  const readStore = await openReadStore(config);
  const audit = openSqliteAuditLog({ path: config.auditLogPath });
  const viewKeys = createViewKeys(loadViewKey(config, logger));
  return {
    config,
    logger,
    eventStore,
    keyStore,
    checkpoints,
    keyring,
    commands,
    bus: { consumer: bus.consumer, ...(bus.publisher ? { publisher: bus.publisher } : {}) },
    readStore,
    audit,
    views: crmViews(viewKeys),
    viewKeys,
    privacy: { index: privacyIndex, hash, mode: config.suppression },
    masterKeySource,
    async close() {
      await privacyIndex.stop();
      await bus.close();
      await Promise.allSettled([readStore.close(), audit.close()]);
      await closeAll();
    },
  };
}
