import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CrmConfig } from '@crm/runtime';
import { createApp } from './http/app.ts';
import { type CrmRuntime, openRuntime } from '@crm/runtime';

export interface RunningCrm {
  runtime: CrmRuntime;
  server: Server;
  url: string;
  stop(): Promise<void>;
}

/** Opens the stores and serves the API until `stop` is called. */
export async function startCrm(config: CrmConfig, runtime?: CrmRuntime): Promise<RunningCrm> {
  runtime ??= await openRuntime(config);
  const app = createApp(runtime);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.port, config.host, () => resolve(s));
    s.once('error', reject);
  });
  server.keepAliveTimeout = 65_000;
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  return {
    runtime,
    server,
    url,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await runtime.close();
    },
  };
}
