/**
 * Child process for http-commands: the CRM on the embedded default (SQLite event and key
 * stores, durable), in the data directory the parent made, on a free port.
 * Env: BENCH_DATA_DIR, BENCH_JWT_SECRET.
 */
import { startCrm } from '@crm/api';
import { loadConfig } from '@crm/runtime';
import { serveControlRequests } from '../http/child-server.ts';

const dataDir = process.env.BENCH_DATA_DIR;
const secret = process.env.BENCH_JWT_SECRET;
if (!dataDir || !secret || !process.send) throw new Error('crm-server is started by bench/src/http/child-server.ts');

const config = loadConfig({ CRM_DATA_DIR: dataDir, CRM_PORT: '0', CRM_JWT_SECRET: secret, CRM_LOG_LEVEL: 'warn' });
if (!config.durable) throw new Error('expected the durable default');
const crm = await startCrm(config);
process.send({ type: 'ready', url: crm.url, durable: config.durable });

serveControlRequests();
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await crm.stop();
  process.exit(0); // a normal exit, so that --cpu-prof writes its profile
};
process.on('message', (message: { type?: string }) => {
  if (message?.type === 'stop') void stop();
});
process.on('disconnect', () => void stop());
