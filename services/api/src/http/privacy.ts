/**
 * `/v1/privacy`: data-subject requests and legal holds, for the `dpo` and `admin` roles only
 * (everyone else: 403). Every action and every read is audited by the privacy service before
 * it happens. Bodies are JSON; errors are problem+json that name fields, never values.
 *
 * POST   /v1/privacy/requests                      { kind, subjectId, reason, carryOut?, source? } → 201 the request
 * GET    /v1/privacy/requests?overdue=&state=&subjectId=   open requests (or as filtered), by due date
 * GET    /v1/privacy/requests/{id}                 the request, its history, and its receipt once done
 * POST   /v1/privacy/requests/{id}/extend          { reason, months: 1|2 }
 * POST   /v1/privacy/requests/{id}/carry-out       { source? }  (a request recorded with carryOut: false, or one that stopped)
 * POST   /v1/privacy/requests/{id}/refuse          { reason }
 * POST   /v1/privacy/holds                         { subjectId, legalBasis, until, reason } → 201 the hold
 * GET    /v1/privacy/holds?subjectId=&standing=    holds
 * DELETE /v1/privacy/holds/{holdId}                { reason } (or ?reason=)
 * GET    /v1/privacy/subjects/{subjectId}          the subject's privacy state
 */
import express, { type Request, Router } from 'express';
import { Forbidden, MAX_COMMAND_BODY_BYTES, PRIVACY_REQUEST_STATES, PRIVACY_ROLES, problemTypeUri, ValidationFailed } from '@crm/contracts';
import type { PrivacyActor, PrivacyRequestFilter, PrivacyService } from '@crm/privacy';
import type { Principal } from './auth.ts';
import { sendProblem } from './problem.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function flag(req: Request, name: string): boolean | undefined {
  const raw = req.query[name];
  if (raw === undefined) return undefined;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new ValidationFailed([{ pointer: `?${name}`, reason: 'must be true or false' }]);
}

function uuidParam(req: Request, where: 'path' | 'query', name: string): string | undefined {
  const raw = where === 'path' ? req.params[name] : req.query[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !UUID.test(raw)) {
    throw new ValidationFailed([{ pointer: where === 'path' ? `/${name}` : `?${name}`, reason: 'must be a valid uuid' }]);
  }
  return raw;
}

function stateParam(req: Request): PrivacyRequestFilter['state'] {
  const raw = req.query.state;
  if (raw === undefined) return undefined;
  const allowed = ['open', 'all', ...PRIVACY_REQUEST_STATES];
  if (typeof raw !== 'string' || !allowed.includes(raw)) throw new ValidationFailed([{ pointer: '?state', reason: `must be one of: ${allowed.join(', ')}` }]);
  return raw as PrivacyRequestFilter['state'];
}

export function privacyRoutes(options: { privacy: PrivacyService; authenticate: (authorization: string | undefined) => Promise<Principal> }): Router {
  const { privacy, authenticate } = options;
  const router = Router();
  const parseJson = express.json({ limit: MAX_COMMAND_BODY_BYTES, strict: true, type: () => true });

  /** Authenticates and authorises first (401, 403 before anything else), then parses the JSON body (optional: may be absent). */
  const withBody = (optional: boolean) => [
    async (req: Request, res: express.Response, next: express.NextFunction) => {
      res.locals.actor = await actorOf(req);
      const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
      if (!hasBody && optional) {
        res.locals.noBody = true;
        return next();
      }
      if (!req.is('application/json')) {
        sendProblem(res, { type: problemTypeUri('unsupported-media-type'), title: 'Unsupported media type', status: 415, detail: 'Send the body as Content-Type: application/json', instance: req.path });
        return;
      }
      next();
    },
    (req: Request, res: express.Response, next: express.NextFunction) => {
      if (!res.locals.noBody) return parseJson(req, res, next);
      req.body = {};
      next();
    },
  ];

  async function actorOf(req: Request): Promise<PrivacyActor> {
    const principal = await authenticate(req.get('Authorization'));
    if (!principal.roles.some((role) => PRIVACY_ROLES.includes(role))) {
      throw new Forbidden(`Only the ${PRIVACY_ROLES.join(' and ')} roles may act on privacy requests and legal holds`);
    }
    return { id: principal.id, roles: principal.roles };
  }
  const actor = (res: express.Response) => res.locals.actor as PrivacyActor;
  const noStore = (res: express.Response) => res.setHeader('Cache-Control', 'no-store');

  router.post('/v1/privacy/requests', ...withBody(false), async (req, res) => {
    const request = await privacy.submit(req.body, actor(res));
    noStore(res);
    res.status(201).setHeader('Location', request.links.self).json(request);
  });

  router.get('/v1/privacy/requests', async (req, res) => {
    const who = await actorOf(req);
    const overdue = flag(req, 'overdue');
    const subjectId = uuidParam(req, 'query', 'subjectId');
    const state = stateParam(req);
    const items = await privacy.requests({ ...(overdue !== undefined ? { overdue } : {}), ...(subjectId ? { subjectId } : {}), ...(state ? { state } : {}) }, who);
    noStore(res);
    res.json({ items: items.map((r) => ({ ...r, overdue: privacy.isOverdue(r), links: { self: `/v1/privacy/requests/${r.requestId}` } })) });
  });

  router.get('/v1/privacy/requests/:id', async (req, res) => {
    const who = await actorOf(req);
    const request = await privacy.request(uuidParam(req, 'path', 'id')!, who);
    noStore(res);
    res.json(request);
  });

  router.post('/v1/privacy/requests/:id/extend', ...withBody(false), async (req, res) => {
    const request = await privacy.extend(uuidParam(req, 'path', 'id')!, req.body, actor(res));
    noStore(res);
    res.json(request);
  });

  router.post('/v1/privacy/requests/:id/carry-out', ...withBody(true), async (req, res) => {
    const request = await privacy.carryOut(uuidParam(req, 'path', 'id')!, req.body, actor(res));
    noStore(res);
    res.json(request);
  });

  router.post('/v1/privacy/requests/:id/refuse', ...withBody(false), async (req, res) => {
    const request = await privacy.refuse(uuidParam(req, 'path', 'id')!, req.body, actor(res));
    noStore(res);
    res.json(request);
  });

  router.post('/v1/privacy/holds', ...withBody(false), async (req, res) => {
    const hold = await privacy.placeHold(req.body, actor(res));
    noStore(res);
    res.status(201).json(hold);
  });

  router.get('/v1/privacy/holds', async (req, res) => {
    const who = await actorOf(req);
    const subjectId = uuidParam(req, 'query', 'subjectId');
    const standing = flag(req, 'standing');
    const holds = await privacy.holds({ ...(subjectId ? { subjectId } : {}), ...(standing !== undefined ? { standing } : {}) }, who);
    noStore(res);
    res.json({ items: holds });
  });

  router.delete('/v1/privacy/holds/:holdId', ...withBody(true), async (req, res) => {
    const fromQuery = typeof req.query.reason === 'string' ? { reason: req.query.reason } : {};
    const body = Object.keys((req.body ?? {}) as object).length > 0 ? req.body : fromQuery;
    const hold = await privacy.releaseHold(uuidParam(req, 'path', 'holdId')!, body, actor(res));
    noStore(res);
    res.json(hold);
  });

  router.get('/v1/privacy/subjects/:subjectId', async (req, res) => {
    const who = await actorOf(req);
    const subject = await privacy.subject(uuidParam(req, 'path', 'subjectId')!, who);
    noStore(res);
    res.json(subject);
  });

  return router;
}
