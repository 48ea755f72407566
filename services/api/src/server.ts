import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runRelay } from '@crm/relay';
import { type CrmConfig, type CrmRuntime, openRuntime } from '@crm/runtime';
import { createApp } from './http/app.ts';

export interface RunningCrm {
  runtime: CrmRuntime;
  server: Server;
  url: string;
  stop(): Promise<void>;
}

/**
 * Opens the stores and serves the API until `stop` is called. With a bus that must be fed
 * (Kafka) and CRM_RELAY=inline, the relay runs in this process too: it reads committed
 * events from its checkpoint, so commands never write to the bus themselves.
 */
export async function startCrm(config: CrmConfig, runtime?: CrmRuntime): Promise<RunningCrm> {
  const rt = runtime ?? (await openRuntime(config));
  const stopRelay = new AbortController();
  const publisher = rt.bus.publisher;
  const relay =
    publisher && config.relay === 'inline'
      ? runRelay({ eventStore: rt.eventStore, publisher, checkpoints: rt.checkpoints, batchSize: config.relayBatchSize, signal: stopRelay.signal, logger: rt.logger }).catch(
          (error: unknown) => rt.logger.error('relay stopped', { error: error instanceof Error ? error.name : 'unknown' }),
        )
      : undefined;
  const app = createApp(rt);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  server.keepAliveTimeout = 65_000;
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  return {
    runtime: rt,
    server,
    url,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      stopRelay.abort();
      await relay;
      await rt.close();
    },
  };
}
