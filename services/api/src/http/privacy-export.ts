/**
 * `GET /v1/privacy/subjects/{subjectId}/export`: everything held on one data subject,
 * decrypted, as a JSON download (Art. 15 access, Art. 20 portability; schema:
 * `SubjectExportDocument` in @crm/contracts, docs/subject-export.md). For `dpo` and
 * `admin` only.
 *
 * The document streams: it is written (chunked) while the subject's events are read a page
 * at a time, so a long history never sits in memory whole. The export is recorded in the
 * audit log (`privacy.export`, ids only) before its first byte is sent; if that fails,
 * nothing is sent but a 503. A failure once the download has begun ends the response
 * abruptly: the client is left with a document that does not parse, never a short one that
 * does.
 *
 * `GET /v1/privacy/subject-export.schema.json`: the document's JSON Schema (no personal data; public, like /openapi.json).
 */
import { once } from 'node:events';
import { Router } from 'express';
import { AuditUnavailable, Forbidden, PRIVACY_ROLES, subjectExportJsonSchema, ValidationFailed } from '@crm/contracts';
import { exportSubject } from '@crm/privacy';
import type { CrmRuntime } from '@crm/runtime';
import type { Principal } from './auth.ts';
import { uuidV7 } from './view-audit.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const EXPORT_PURPOSE = 'data-subject access and portability (GDPR Art. 15, 20)';

export interface PrivacyExportDeps {
  runtime: Pick<CrmRuntime, 'eventStore' | 'keyring' | 'keyStore' | 'views' | 'audit' | 'config' | 'logger'>;
  authenticate: (authorization: string | undefined) => Promise<Principal>;
  /** Events per page of the subject index; default that of `exportSubject` (500). */
  pageSize?: number;
}

export function privacyExportRoutes(deps: PrivacyExportDeps): Router {
  const { runtime, authenticate } = deps;
  const { config, logger } = runtime;
  // Every event is published whole (sealed) to the events topic when the bus is Kafka.
  const topics = config.bus.kind === 'kafka' ? [config.bus.topic] : [];
  const router = Router();
  const schema = subjectExportJsonSchema();

  router.get('/v1/privacy/subject-export.schema.json', (_req, res) => {
    res.json(schema);
  });

  router.get('/v1/privacy/subjects/:subjectId/export', async (req, res) => {
    const principal = await authenticate(req.get('Authorization'));
    if (!principal.roles.some((role) => PRIVACY_ROLES.includes(role))) {
      throw new Forbidden(`Only the ${PRIVACY_ROLES.join(' and ')} roles may export a data subject's data`);
    }
    const subjectId = req.params.subjectId ?? '';
    if (!UUID.test(subjectId)) throw new ValidationFailed([{ pointer: '/subjectId', reason: 'must be a valid uuid' }]);

    const chunks = exportSubject({
      eventStore: runtime.eventStore,
      keyring: runtime.keyring,
      keyStore: runtime.keyStore,
      views: runtime.views,
      topics,
      subjectId,
      ...(deps.pageSize ? { pageSize: deps.pageSize } : {}),
    });
    // The first chunk comes once the subject is known to exist (404 otherwise) and before anything is decrypted.
    const first = await chunks.next();
    const at = new Date();
    try {
      await runtime.audit.record({
        id: uuidV7(at.getTime()),
        at: at.toISOString(),
        actor: principal.id,
        roles: [...principal.roles],
        action: 'privacy.export',
        purpose: EXPORT_PURPOSE,
        subjectIds: [subjectId],
        count: 1,
      });
    } catch (error) {
      await chunks.return();
      logger.error('audit record failed; export withheld', { error: error instanceof Error ? error.name : typeof error });
      res.setHeader('Retry-After', '1');
      throw new AuditUnavailable();
    }

    res.status(200);
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="subject-${subjectId}.json"`);
    res.setHeader('Cache-Control', 'no-store');
    let closed = false;
    res.on('close', () => {
      closed = true;
    });
    const write = async (chunk: string) => {
      if (!res.write(chunk)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
    };
    try {
      if (!first.done) await write(first.value);
      for await (const chunk of chunks) {
        if (closed) break; // the client went away: stop reading and decrypting
        await write(chunk);
      }
      res.end();
      logger.info('subject exported', { actor: principal.id, subjectId });
    } catch (error) {
      logger.error('export failed after the download began; response cut off', { subjectId, error: error instanceof Error ? error.name : typeof error });
      res.destroy();
    }
  });

  return router;
}
