import express, { type Express } from 'express';
import { openApiDocument, problemTypeUri } from '@crm/contracts';
import type { ViewReader } from '@crm/projector';
import type { PrivacyService, RetentionScheduler } from '@crm/privacy';
import type { CrmRuntime } from '@crm/runtime';
import { createPrivacyServiceFor } from '../privacy-service.ts';
import { createTokenVerifier } from './auth.ts';
import { commandRoutes } from './commands.ts';
import { privacyRoutes } from './privacy.ts';
import { privacyExportRoutes } from './privacy-export.ts';
import { retentionRoutes } from './retention.ts';
import { createRetentionFor, recordOfProcessingFor } from '../retention.ts';
import { viewRoutes } from './views.ts';
import { metricsRoute } from './metrics.ts';
import { problemHandler, sendProblem } from './problem.ts';

const NIL_SUBJECT = '00000000-0000-0000-0000-000000000000';

/** The HTTP API of one CRM process. Without `privacy`, the privacy service is made from the runtime and the reader. */
export function createApp(runtime: CrmRuntime, reads: { reader: ViewReader; privacy?: PrivacyService; retention?: RetentionScheduler }): Express {
  const { config, logger } = runtime;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  // A listener per request costs throughput: only when request logging is on.
  if (config.logLevel === 'debug') app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      logger.debug('request', {
        method: req.method,
        route: req.route?.path ?? 'unmatched',
        status: res.statusCode,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      });
    });
    next();
  });

  const openapi = openApiDocument();
  app.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      // Cheap round trips only: probes come often, and counting keys grows with the key table.
      await runtime.eventStore.headPosition();
      await runtime.keyStore.find(NIL_SUBJECT);
      await runtime.readStore.get('crm_views', NIL_SUBJECT);
      res.json({ status: 'ready' });
    } catch {
      res.status(503).json({ status: 'not ready' });
    }
  });

  const authenticate = createTokenVerifier(config.auth);
  app.use(commandRoutes({ commands: runtime.commands, authenticate }));
  app.use(viewRoutes({ reader: reads.reader, readStore: runtime.readStore, audit: runtime.audit, authenticate, logger }));
  app.use(metricsRoute({ eventStore: runtime.eventStore, reader: reads.reader }));
  app.use(privacyRoutes({ privacy: reads.privacy ?? createPrivacyServiceFor(runtime, reads.reader), authenticate }));
  app.use(retentionRoutes({ retention: reads.retention ?? createRetentionFor(runtime, reads.privacy ?? createPrivacyServiceFor(runtime, reads.reader)), record: () => recordOfProcessingFor(config, runtime.views), audit: runtime.audit, authenticate, logger }));
  app.use(privacyExportRoutes({ runtime, authenticate }));

  app.use((req, res) => {
    sendProblem(res, { type: problemTypeUri('not-found'), title: 'Not found', status: 404, detail: 'No such endpoint; see /openapi.json', instance: req.path });
  });
  app.use(problemHandler(logger));
  return app;
}
