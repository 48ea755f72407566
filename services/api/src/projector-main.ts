import { createLogger } from '@crm/core';
import { ConfigError, loadConfig, openRuntime } from '@crm/runtime';
import { startProjectorsFor } from './projectors.ts';

/**
 * The view projectors as their own process (with CRM_PROJECTOR=off in the API processes):
 * builds every view that has no generation of its current version, then follows the bus, one
 * consumer group per view generation. Run one such process per deployment: a view's
 * progress is tracked by the process that applies it.
 *   node --import tsx services/api/src/projector-main.ts
 * SIGTERM/SIGINT stop it after the runs in hand were written.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel });
  const runtime = await openRuntime(config, logger);
  const projections = startProjectorsFor(runtime, config, logger);
  const stop = async (signal: string) => {
    logger.info('stopping', { signal });
    await projections.stop();
    await runtime.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  await projections.ready;
  logger.info('views ready', { views: runtime.views.map((v) => `${v.name} v${v.version}`).join(', ') });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? `Configuration error: ${error.message}` : `Projector failed: ${error instanceof Error ? error.name : 'unknown error'}`}\n`);
  process.exit(1);
});
