/**
 * Child process for http-commands: the baseline. Express 5 with one POST route that parses
 * the same JSON body and does no work. Settings that cost per request are set as the CRM
 * sets them (no ETag, no X-Powered-By, same keep-alive), so the difference is our work.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { serveControlRequests } from '../http/child-server.ts';

if (!process.send) throw new Error('bare-server is started by bench/src/http/child-server.ts');

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.post('/v1/commands/:commandType', express.json(), (_req, res) => {
  res.json({ ok: true });
});

const server = app.listen(0, '127.0.0.1', () => {
  server.keepAliveTimeout = 65_000;
  const { port } = server.address() as AddressInfo;
  process.send?.({ type: 'ready', url: `http://127.0.0.1:${port}` });
});

serveControlRequests();
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('message', (message: { type?: string }) => {
  if (message?.type === 'stop') stop();
});
process.on('disconnect', stop);
