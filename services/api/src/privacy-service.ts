import { createPrivacyService, type PrivacyService } from '@crm/privacy';
import type { ViewReader } from '@crm/projector';
import type { CrmRuntime } from '@crm/runtime';

export interface PrivacyServiceSettings {
  /** The clock of deadlines, holds and receipts; tests move it. */
  now?: () => Date;
}

/** The privacy service of a CRM process: its runtime's stores and privacy index, and the views as the query side sees them. */
export function createPrivacyServiceFor(runtime: CrmRuntime, reader: ViewReader, settings: PrivacyServiceSettings = {}): PrivacyService {
  const { config } = runtime;
  return createPrivacyService({
    eventStore: runtime.eventStore,
    keyStore: runtime.keyStore,
    keyring: runtime.keyring,
    masterKeys: runtime.masterKeySource.keys,
    commands: runtime.commands,
    readStore: runtime.readStore,
    audit: runtime.audit,
    logger: runtime.logger,
    index: runtime.privacy.index,
    hash: runtime.privacy.hash,
    views: runtime.views,
    reader,
    bus: config.bus.kind === 'kafka' ? { kind: 'kafka', topic: config.bus.topic, checkpoints: runtime.checkpoints } : { kind: 'in-process' },
    keyCacheTtlMs: config.keyCacheTtlMs,
    erasureWaitMs: config.erasureWaitMs,
    ...(settings.now ? { now: settings.now } : {}),
  });
}
