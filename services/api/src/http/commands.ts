import express, { type Request, Router } from 'express';
import { commandContract, Forbidden, MAX_COMMAND_BODY_BYTES, problemTypeUri, UnknownCommandType, ValidationFailed } from '@crm/contracts';
import type { CommandService } from '@crm/core';
import type { Principal } from './auth.ts';
import { sendProblem } from './problem.ts';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

function commandVersion(req: Request): number | undefined {
  const raw = req.query.version;
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^[1-9][0-9]{0,3}$/.test(raw)) {
    throw new ValidationFailed([{ pointer: '?version', reason: 'must be a positive integer' }]);
  }
  return Number(raw);
}

function idempotencyKey(req: Request): string | undefined {
  const key = req.get('Idempotency-Key');
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new ValidationFailed([{ pointer: 'header Idempotency-Key', reason: 'must be 1 to 200 visible ASCII characters' }]);
  }
  return key;
}

/** `POST /v1/commands/{CommandType}`: authenticate, authorise by role, then parse the body and run the command. */
export function commandRoutes(options: {
  commands: CommandService;
  authenticate: (authorization: string | undefined) => Promise<Principal>;
}): Router {
  const router = Router();
  const parseJson = express.json({ limit: MAX_COMMAND_BODY_BYTES, strict: true, type: () => true });

  router.post('/v1/commands/:commandType', async (req, res, next) => {
    const principal = await options.authenticate(req.get('Authorization'));
    const contract = commandContract(req.params.commandType);
    if (!contract) throw new UnknownCommandType();
    if (!principal.roles.some((role) => contract.roles.includes(role))) {
      throw new Forbidden(`Your roles may not send ${contract.type}; it needs one of: ${contract.roles.join(', ')}`);
    }
    if (!req.is('application/json')) {
      sendProblem(res, {
        type: problemTypeUri('unsupported-media-type'),
        title: 'Unsupported media type',
        status: 415,
        detail: 'Send the command as Content-Type: application/json',
        instance: req.path,
      });
      return;
    }
    res.locals.principal = principal;
    next();
  }, parseJson, async (req, res) => {
    const principal = res.locals.principal as Principal;
    const version = commandVersion(req);
    const key = idempotencyKey(req);
    const correlationId = req.get('X-Correlation-Id');
    const answer = await options.commands.execute({
      type: req.params.commandType as string,
      body: req.body,
      actor: principal.id,
      ...(version !== undefined ? { version } : {}),
      ...(key ? { idempotencyKey: key } : {}),
      ...(correlationId && IDEMPOTENCY_KEY.test(correlationId) ? { correlationId } : {}),
    });
    res.status(200).json(answer);
  });
  return router;
}
