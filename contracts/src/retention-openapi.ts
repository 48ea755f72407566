import { PRIVACY_ROLES } from './privacy.ts';
import { RETENTION_RULE_IDS } from './retention.ts';

/** `/v1/privacy/retention/...` and `/v1/privacy/record-of-processing` in the OpenAPI document (dpo and admin only). */
export function retentionOpenApiPaths(): Record<string, unknown> {
  const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } });
  const common = {
    '400': problem('invalid parameter: which one, and why'),
    '401': problem('no, expired or forged bearer token'),
    '403': problem('only the dpo and admin roles may read retention schedules and the record of processing'),
    '503': problem('audit-unavailable: the call could not be audited, so nothing was done or sent'),
  };
  const operation = (summary: string, parameters: unknown[], ok: Record<string, unknown>) => ({
    summary,
    tags: ['privacy'],
    'x-roles': PRIVACY_ROLES,
    parameters,
    responses: { '200': ok, ...common },
  });
  const json = (description: string) => ({ description, content: { 'application/json': { schema: { type: 'object' } } } });
  return {
    '/v1/privacy/retention/due': {
      get: operation(
        `Subjects due for erasure or anonymisation under the retention rules (${RETENTION_RULE_IDS.join(', ')}), and those coming due within the horizon: subject id, governing rule, due date, action, reminder, standing hold, restriction.`,
        [{ name: 'horizon', in: 'query', required: false, description: "ISO 8601 duration; default each rule's reminder lead time", schema: { type: 'string', example: 'P30D' } }],
        json('{ asOf, horizon, position, items }'),
      ),
    },
    '/v1/privacy/retention/run': {
      post: operation(
        'One scheduler run now: reminders (RetentionReminderIssued), then due actions through the erasure, or RetentionActionSkipped while a legal hold stands or processing is restricted. dryRun (default true) lists what would happen and changes nothing.',
        [{ name: 'dryRun', in: 'query', required: false, schema: { type: 'boolean', default: true } }],
        json('{ runId, asOf, dryRun, reminders, actions, webhook }'),
      ),
    },
    '/v1/privacy/retention/reminders': {
      get: operation(
        'Every reminder issued (Wiedervorlage) and what became of it: open, taken, skipped, superseded, forgotten; and its webhook delivery.',
        [
          { name: 'subjectId', in: 'query', required: false, schema: { type: 'string', format: 'uuid' } },
          { name: 'status', in: 'query', required: false, schema: { type: 'string', enum: ['open', 'taken', 'skipped', 'superseded', 'forgotten'] } },
        ],
        json('{ items }'),
      ),
    },
    '/v1/privacy/record-of-processing': {
      get: operation(
        'The record of processing activities (Art. 30(1)), generated from the contracts, the views, the retention rules and the configuration.',
        [{ name: 'format', in: 'query', required: false, schema: { type: 'string', enum: ['json', 'markdown'], default: 'json' } }],
        { description: 'the record', content: { 'application/json': { schema: { type: 'object' } }, 'text/markdown': { schema: { type: 'string' } } } },
      ),
    },
    '/v1/privacy/record-of-processing.md': {
      get: operation('The record of processing activities as Markdown.', [], { description: 'the record', content: { 'text/markdown': { schema: { type: 'string' } } } }),
    },
  };
}
