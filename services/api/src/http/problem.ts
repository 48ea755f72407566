import type { ErrorRequestHandler, Response } from 'express';
import { CrmError, problemTypeUri } from '@crm/contracts';
import type { Logger } from '@crm/core';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  [extension: string]: unknown;
}

export function sendProblem(res: Response, problem: Problem): void {
  if (problem.status === 401) res.setHeader('WWW-Authenticate', 'Bearer');
  res.status(problem.status).type('application/problem+json').json(problem);
}

export function problemOf(error: CrmError, instance?: string): Problem {
  return {
    ...error.extensions(),
    type: problemTypeUri(error.problemType),
    title: error.title,
    status: error.status,
    detail: error.message,
    ...(instance ? { instance } : {}),
  };
}

/** body-parser's errors, by their `type`, worded without quoting the body. */
const BODY_ERRORS: Record<string, Problem> = {
  'entity.parse.failed': { type: 'malformed-json', title: 'Malformed JSON', status: 400, detail: 'The body is not valid JSON', errors: [{ pointer: '', reason: 'is not valid JSON' }] },
  'entity.too.large': { type: 'payload-too-large', title: 'Body too large', status: 413, detail: 'The body exceeds the size limit' },
  'encoding.unsupported': { type: 'unsupported-media-type', title: 'Unsupported encoding', status: 415, detail: 'The Content-Encoding is not supported' },
  'charset.unsupported': { type: 'unsupported-media-type', title: 'Unsupported charset', status: 415, detail: 'The body must be UTF-8 JSON' },
  'request.aborted': { type: 'malformed-json', title: 'Request aborted', status: 400, detail: 'The body was not received completely' },
};

/**
 * Maps every error to RFC 9457 problem+json. Known errors carry their own safe detail;
 * anything else is a 500 whose detail says nothing about the request.
 */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    if (error instanceof CrmError) {
      if (error.status >= 500) logger.error('request failed', { problem: error.problemType, path: req.path });
      sendProblem(res, problemOf(error, req.path));
      return;
    }
    const bodyError = typeof error === 'object' && error !== null && 'type' in error ? BODY_ERRORS[String(error.type)] : undefined;
    if (bodyError) {
      sendProblem(res, { ...bodyError, type: problemTypeUri(bodyError.type), instance: req.path });
      return;
    }
    // Only the error's name and where it was thrown: a foreign error's message may quote input.
    const name = error instanceof Error ? error.name : typeof error;
    const thrownAt = error instanceof Error ? error.stack?.split('\n').find((line) => line.trim().startsWith('at '))?.trim() : undefined;
    logger.error('unexpected error', { error: name, thrownAt, path: req.path });
    sendProblem(res, {
      type: problemTypeUri('internal-error'),
      title: 'Internal error',
      status: 500,
      detail: 'The request could not be completed; nothing was changed unless a later read shows it',
      instance: req.path,
    });
  };
}
