import { v7 as uuidv7 } from 'uuid';
import { CommandService, createLogger, type EventStore, Keyring, type KeyStore, loadMasterKeys, type Logger, type MasterKeySource } from '@crm/core';
import { commandHandlers } from '@crm/domain';
import { openSqliteEventStore, openSqliteKeyStore } from '@crm/sqlite';
import type { CrmConfig } from './config.ts';

/** Everything a running CRM process holds: the composition root of ports and adapters. */
export interface CrmRuntime {
  config: CrmConfig;
  logger: Logger;
  eventStore: EventStore;
  keyStore: KeyStore;
  keyring: Keyring;
  commands: CommandService;
  masterKeySource: MasterKeySource;
  close(): Promise<void>;
}

export function openRuntime(config: CrmConfig, logger: Logger = createLogger({ level: config.logLevel })): CrmRuntime {
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
  const eventStore = openSqliteEventStore({ path: config.eventStore.path, durable: config.durable });
  const keyStore = openSqliteKeyStore({ path: config.keyStore.path });
  const keyring = new Keyring({ keyStore, masterKeys: masterKeySource.keys, cacheTtlMs: config.keyCacheTtlMs });
  const commands = new CommandService({ eventStore, keyring, handlers: commandHandlers, newId: uuidv7 });
  return {
    config,
    logger,
    eventStore,
    keyStore,
    keyring,
    commands,
    masterKeySource,
    async close() {
      await eventStore.close();
      await keyStore.close();
    },
  };
}
