import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createStoredViewReader, type RunningProjections, type ViewReader } from '@crm/projector';
import { runRelay } from '@crm/relay';
import { type CrmConfig, type CrmRuntime, openRuntime } from '@crm/runtime';
import type { PrivacyService } from '@crm/privacy';
import { createApp } from './http/app.ts';
import { startProjectorsFor } from './projectors.ts';
import { createPrivacyServiceFor, type PrivacyServiceSettings } from './privacy-service.ts';
import { createRetentionFor, type RetentionSettings, startRetentionFor } from './retention.ts';
import type { RetentionScheduler } from '@crm/privacy';

export interface RunningCrm {
  runtime: CrmRuntime;
  /** The view projectors, when they run in this process (CRM_PROJECTOR=inline). */
  projections?: RunningProjections;
  /** What the query API reads the views through. */
  reader: ViewReader;
  /** Data-subject requests, legal holds and erasure (what `/v1/privacy` calls). */
  privacy: PrivacyService;
  /** Retention schedules: due items, reminders, runs (on a timer here when CRM_RETENTION=inline). */
  retention: RetentionScheduler;
  server: Server;
  url: string;
  stop(): Promise<void>;
}

/**
 * Opens the stores and serves the API until `stop` is called. With a bus that must be fed
 * (Kafka) and CRM_RELAY=inline, the relay runs in this process too: it reads committed
 * events from its checkpoint, so commands never write to the bus themselves. With
 * CRM_PROJECTOR=inline the view projectors run here too (building any view that has no
 * generation of its version yet, in the background: queries answer 503 until it is ready).
 */
export async function startCrm(config: CrmConfig, runtime?: CrmRuntime, options: { privacy?: PrivacyServiceSettings; /** Default clock: the privacy service's. */ retention?: RetentionSettings } = {}): Promise<RunningCrm> {
  const rt = runtime ?? (await openRuntime(config));
  const stopRelay = new AbortController();
  const publisher = rt.bus.publisher;
  const relay =
    publisher && config.relay === 'inline'
      ? runRelay({ eventStore: rt.eventStore, publisher, checkpoints: rt.checkpoints, batchSize: config.relayBatchSize, signal: stopRelay.signal, logger: rt.logger }).catch(
          (error: unknown) => rt.logger.error('relay stopped', { error: error instanceof Error ? error.name : 'unknown' }),
        )
      : undefined;
  const projections =
    config.projector === 'inline'
      ? startProjectorsFor(rt, config)
      : undefined;
  projections?.ready.catch((error: unknown) => rt.logger.error('views could not start', { error: error instanceof Error ? error.name : 'unknown' }));
  const reader = projections?.reader ?? createStoredViewReader({ views: rt.views, readStore: rt.readStore, keyring: rt.keyring, viewKeys: rt.viewKeys });
  const privacy = createPrivacyServiceFor(rt, reader, options.privacy);
  // Read the privacy state (requests, holds, restrictions, suppression entries) now, not on the first command.
  void rt.privacy.index.start().catch((error: unknown) => rt.logger.error('privacy index could not start', { error: error instanceof Error ? error.name : 'unknown' }));
  const retention = createRetentionFor(rt, privacy, { ...(options.privacy?.now ? { now: options.privacy.now } : {}), ...options.retention });
  const retentionTimer = startRetentionFor(config, retention, rt);
  const app = createApp(rt, { reader, privacy, retention });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  server.keepAliveTimeout = 65_000;
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  return {
    runtime: rt,
    ...(projections ? { projections } : {}),
    reader,
    privacy,
    retention,
    server,
    url,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      stopRelay.abort();
      await relay;
      await retentionTimer?.stop();
      await projections?.stop();
      await rt.close();
    },
  };
}
