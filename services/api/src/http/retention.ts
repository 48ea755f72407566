/**
 * Retention and the record of processing, for the `dpo` and `admin` roles only (everyone
 * else: 403). Every call is recorded in the audit log (ids only) before its answer is sent;
 * if that fails, nothing is sent but a 503 — and a run does nothing.
 *
 * GET  /v1/privacy/retention/due?horizon=P30D        due items and those coming due within the horizon (default: each rule's reminder lead time)
 * POST /v1/privacy/retention/run?dryRun=true|false   one scheduler run now; dryRun defaults to true: an erasure must be asked for explicitly
 * GET  /v1/privacy/retention/reminders?subjectId=&status=   the reminders issued (Wiedervorlagen) and what became of them
 * GET  /v1/privacy/record-of-processing[?format=markdown]   the record of processing activities (Art. 30), JSON or Markdown
 * GET  /v1/privacy/record-of-processing.md                  the same, Markdown
 */
import { type Request, type Response, Router } from 'express';
import { AuditUnavailable, Forbidden, ISO_DATE_DURATION, PRIVACY_ROLES, type Role, ValidationFailed } from '@crm/contracts';
import type { AuditLog, Logger } from '@crm/core';
import { type RecordOfProcessing, recordOfProcessingMarkdown, type ReminderStatus, type RetentionScheduler } from '@crm/privacy';
import type { Principal } from './auth.ts';
import { uuidV7 } from './view-audit.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const REMINDER_STATUSES: readonly ReminderStatus[] = ['open', 'taken', 'skipped', 'superseded', 'forgotten'];
const RETENTION_PURPOSE = 'retention schedule (Art. 5(1)(e), 17(1)(a))';
const RECORD_PURPOSE = 'record of processing activities (Art. 30)';

export interface RetentionRoutesDeps {
  retention: RetentionScheduler;
  /** The record of processing of this deployment, generated on each call. */
  record: () => RecordOfProcessing;
  audit: AuditLog;
  authenticate: (authorization: string | undefined) => Promise<Principal>;
  logger: Logger;
}

function query(req: Request, name: string): string | undefined {
  const raw = req.query[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw new ValidationFailed([{ pointer: `?${name}`, reason: 'must be given once' }]);
  return raw;
}

export function retentionRoutes(deps: RetentionRoutesDeps): Router {
  const { retention, audit, authenticate, logger } = deps;
  const router = Router();

  async function dpo(req: Request): Promise<Principal> {
    const principal = await authenticate(req.get('Authorization'));
    if (!principal.roles.some((role: Role) => PRIVACY_ROLES.includes(role))) {
      throw new Forbidden(`Only the ${PRIVACY_ROLES.join(' and ')} roles may read retention schedules and the record of processing`);
    }
    return principal;
  }

  async function audited(principal: Principal, action: string, purpose: string, subjectIds: readonly string[], count: number): Promise<void> {
    const at = new Date();
    try {
      await audit.record({ id: uuidV7(at.getTime()), at: at.toISOString(), actor: principal.id, roles: [...principal.roles], action, purpose, subjectIds: [...new Set(subjectIds)], count });
    } catch (error) {
      logger.error('audit record failed; nothing sent', { action, error: error instanceof Error ? error.name : typeof error });
      throw new AuditUnavailable();
    }
  }

  const noStore = (res: Response) => res.setHeader('Cache-Control', 'no-store');

  router.get('/v1/privacy/retention/due', async (req, res) => {
    const principal = await dpo(req);
    const horizon = query(req, 'horizon');
    if (horizon !== undefined && !ISO_DATE_DURATION.test(horizon)) throw new ValidationFailed([{ pointer: '?horizon', reason: 'must be an ISO 8601 duration of years, months, weeks and days, e.g. P30D' }]);
    const due = await retention.due(horizon ? { horizon } : {});
    await audited(principal, 'privacy.retention.due', RETENTION_PURPOSE, due.items.map((i) => i.subjectId), due.items.length);
    noStore(res);
    res.json(due);
  });

  router.post('/v1/privacy/retention/run', async (req, res) => {
    const principal = await dpo(req);
    const raw = query(req, 'dryRun') ?? 'true';
    if (raw !== 'true' && raw !== 'false') throw new ValidationFailed([{ pointer: '?dryRun', reason: 'must be true or false' }]);
    const dryRun = raw === 'true';
    // Recorded before the run: a run that cannot be audited does nothing. The erasures it makes are audited one by one by the privacy service.
    await audited(principal, dryRun ? 'privacy.retention.dry-run' : 'privacy.retention.run', RETENTION_PURPOSE, [], 0);
    const report = await retention.run({ dryRun });
    noStore(res);
    res.json(report);
  });

  router.get('/v1/privacy/retention/reminders', async (req, res) => {
    const principal = await dpo(req);
    const subjectId = query(req, 'subjectId');
    if (subjectId !== undefined && !UUID.test(subjectId)) throw new ValidationFailed([{ pointer: '?subjectId', reason: 'must be a valid uuid' }]);
    const status = query(req, 'status');
    if (status !== undefined && !REMINDER_STATUSES.includes(status as ReminderStatus)) {
      throw new ValidationFailed([{ pointer: '?status', reason: `must be one of: ${REMINDER_STATUSES.join(', ')}` }]);
    }
    const items = await retention.reminders({ ...(subjectId ? { subjectId } : {}), ...(status ? { status: status as ReminderStatus } : {}) });
    await audited(principal, 'privacy.retention.reminders', RETENTION_PURPOSE, items.map((i) => i.subjectId), items.length);
    noStore(res);
    res.json({ items });
  });

  const recordRoute = (markdown: (req: Request) => boolean) => async (req: Request, res: Response) => {
    const principal = await dpo(req);
    const asMarkdown = markdown(req);
    const record = deps.record();
    await audited(principal, 'privacy.record-of-processing.read', RECORD_PURPOSE, [], record.activities.length);
    noStore(res);
    if (asMarkdown) res.type('text/markdown; charset=utf-8').send(recordOfProcessingMarkdown(record));
    else res.json(record);
  };
  router.get(
    '/v1/privacy/record-of-processing',
    recordRoute((req) => {
      const format = query(req, 'format') ?? 'json';
      if (format !== 'json' && format !== 'markdown') throw new ValidationFailed([{ pointer: '?format', reason: 'must be json or markdown' }]);
      return format === 'markdown';
    }),
  );
  router.get('/v1/privacy/record-of-processing.md', recordRoute(() => true));

  return router;
}
