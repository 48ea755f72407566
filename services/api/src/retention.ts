import { createRetentionScheduler, privacyServiceErasure, type PrivacyService, recordOfProcessing, type RecordOfProcessing, type RetentionScheduler, startRetentionTimer } from '@crm/privacy';
import type { CrmConfig, CrmRuntime } from '@crm/runtime';

export interface RetentionSettings {
  /** The scheduler's clock; tests move it. */
  now?: () => Date;
  /** How the webhook is called (tests); default: global fetch. */
  fetch?: typeof fetch;
}

/** The retention scheduler of a CRM process: erasures go through the process's privacy service; reminders to CRM_RETENTION_WEBHOOK_URL when set. */
export function createRetentionFor(runtime: CrmRuntime, privacy: PrivacyService, settings: RetentionSettings = {}): RetentionScheduler {
  const { config } = runtime;
  return createRetentionScheduler({
    eventStore: runtime.eventStore,
    keyring: runtime.keyring,
    checkpoints: runtime.checkpoints,
    erasure: privacyServiceErasure({ service: privacy, index: runtime.privacy.index }),
    logger: runtime.logger,
    ...(settings.now ? { now: settings.now } : {}),
    ...(config.retention.webhookUrl ? { webhook: { url: config.retention.webhookUrl, ...(settings.fetch ? { fetch: settings.fetch } : {}) } } : {}),
  });
}

/** Starts the hourly (CRM_RETENTION_INTERVAL_MS) runs when CRM_RETENTION=inline; undefined when off. */
export function startRetentionFor(config: CrmConfig, scheduler: RetentionScheduler, runtime: Pick<CrmRuntime, 'logger'>): { stop(): Promise<void> } | undefined {
  return config.retention.mode === 'inline' ? startRetentionTimer({ scheduler, intervalMs: config.retention.intervalMs, logger: runtime.logger }) : undefined;
}

/** The record of processing of this deployment: its contracts, views, retention rules and configuration. */
export function recordOfProcessingFor(config: CrmConfig, views: CrmRuntime['views']): RecordOfProcessing {
  return recordOfProcessing({
    controller: config.controller,
    views,
    bus: config.bus.kind === 'kafka' ? { kind: 'kafka', topic: config.bus.topic } : { kind: 'memory' },
    keyStore: { kind: config.keyStore.kind === 'sqlite' ? 'SQLite file' : `PostgreSQL schema ${config.keyStore.schema}` },
    masterKey: config.masterKey ? 'environment' : 'file',
    keyCacheTtlMs: config.keyCacheTtlMs,
  });
}
