import { createLogger } from '@crm/core';
import { startRetentionTimer } from '@crm/privacy';
import { createStoredViewReader } from '@crm/projector';
import { ConfigError, loadConfig, openRuntime } from '@crm/runtime';
import { createPrivacyServiceFor } from './privacy-service.ts';
import { createRetentionFor } from './retention.ts';

/**
 * The retention scheduler as its own process (with CRM_RETENTION=off in the API processes):
 * every CRM_RETENTION_INTERVAL_MS (default one hour) it issues the reminders that fall due
 * and erases or anonymises the subjects whose retention ran out, through the privacy
 * service, unless a legal hold stands. Run one per deployment (a second one appends nothing
 * twice, but does the work twice).
 *   node --import tsx services/api/src/retention-main.ts
 * SIGTERM/SIGINT stop it after the run in hand.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel });
  const runtime = await openRuntime(config, logger);
  // The views are followed by the projector process: an erasure reads their progress from the read store.
  const reader = createStoredViewReader({ views: runtime.views, readStore: runtime.readStore, keyring: runtime.keyring, viewKeys: runtime.viewKeys });
  const privacy = createPrivacyServiceFor(runtime, reader);
  await runtime.privacy.index.start();
  const scheduler = createRetentionFor(runtime, privacy);
  const timer = startRetentionTimer({ scheduler, intervalMs: config.retention.intervalMs, logger });
  const stop = async (signal: string) => {
    logger.info('stopping', { signal });
    await timer.stop();
    await runtime.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  logger.info('retention scheduler started', { intervalMs: config.retention.intervalMs, webhook: config.retention.webhookUrl ? 'on' : 'off' });
  // The timer is unref'd: keep the process alive until a signal.
  setInterval(() => undefined, 1 << 30);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? `Configuration error: ${error.message}` : `Retention scheduler failed: ${error instanceof Error ? error.name : 'unknown error'}`}\n`);
  process.exit(1);
});
