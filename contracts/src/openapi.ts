import { z } from 'zod';
import { commandContracts } from './catalogue.ts';
import { commandEnvelope } from './envelope.ts';
import type { CommandContract } from './messages.ts';
import { PROBLEM_TYPES, problemTypeUri } from './problems.ts';
import {
  extendPrivacyRequestBody,
  placeLegalHoldBody,
  PRIVACY_REQUEST_KINDS,
  PRIVACY_REQUEST_STATES,
  PRIVACY_ROLES,
  privacyReceipt,
  privacyRequestBody,
  refusePrivacyRequestBody,
  releaseLegalHoldBody,
} from './privacy.ts';
import { retentionOpenApiPaths } from './retention-openapi.ts';

type JsonSchema = Record<string, unknown>;

/** Marks each personal field's property with `x-personal-data: true`, following `a.b` and `list[].c` paths. */
function markPersonal(schema: JsonSchema, paths: string[]): JsonSchema {
  for (const path of paths) {
    let node: JsonSchema | undefined = schema;
    const parts = path.split('.');
    parts.forEach((part, index) => {
      const name = part.replace(/\[\]$/, '');
      let child = (node?.properties as Record<string, JsonSchema> | undefined)?.[name];
      if (child && part.endsWith('[]')) child = child.items as JsonSchema | undefined;
      if (child && index === parts.length - 1) child['x-personal-data'] = true;
      node = child;
    });
  }
  return schema;
}

const requestSchemas = new WeakMap<z.ZodType, z.ZodType>();

/**
 * The schema of a command request body: the command's fields plus the envelope. Built once
 * per schema: zod compiles a schema on first use, so a fresh one per request is expensive.
 */
export function commandRequestSchema(schema: z.ZodType): z.ZodType {
  let request = requestSchemas.get(schema);
  if (!request) {
    request = (schema as unknown as z.ZodObject).extend(commandEnvelope);
    requestSchemas.set(schema, request);
  }
  return request;
}

function commandJsonSchema(contract: CommandContract): JsonSchema {
  const schema = z.toJSONSchema(commandRequestSchema(contract.schema), { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  delete schema.$schema;
  return markPersonal(schema, contract.personal);
}

const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

/** The OpenAPI 3.1 document, generated from the contracts so that it cannot drift from them. */
export function openApiDocument(serverUrl?: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {
    Problem: {
      type: 'object',
      required: ['type', 'title', 'status'],
      properties: {
        type: { type: 'string', enum: PROBLEM_TYPES.map(problemTypeUri) },
        title: { type: 'string' },
        status: { type: 'integer' },
        detail: { type: 'string', description: 'names the offending field and rule; never echoes personal data' },
        instance: { type: 'string' },
        errors: {
          type: 'array',
          items: { type: 'object', properties: { pointer: { type: 'string' }, reason: { type: 'string' } } },
        },
      },
    },
    CommandAccepted: {
      type: 'object',
      required: ['streamId', 'version', 'position'],
      properties: {
        streamId: { type: 'string' },
        version: { type: 'integer', description: 'the stream version after the command' },
        position: { type: 'integer', description: 'global position of the last event written; use as minPosition for read-your-writes' },
        subjectId: { type: 'string', format: 'uuid', description: 'set when the command created a data subject' },
        flags: {
          type: 'array',
          items: { type: 'string', enum: ['previously-erased'] },
          description: 'previously-erased: an email or phone number matches a person who was erased (CRM_SUPPRESSION=flag, or a phone number alone)',
        },
      },
      additionalProperties: true,
    },
  };
  for (const contract of commandContracts.values()) {
    schemas[contract.type] = commandJsonSchema(contract);
    paths[`/v1/commands/${contract.type}`] = {
      post: {
        operationId: contract.type,
        summary: contract.description,
        tags: [contract.aggregate],
        'x-roles': contract.roles,
        'x-command-version': contract.version,
        parameters: [
          { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 200 } },
          {
            name: 'version',
            in: 'query',
            required: false,
            description: `command schema version; default ${contract.version}`,
            schema: { type: 'integer', minimum: 1, maximum: contract.version },
          },
        ],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: `#/components/schemas/${contract.type}` } } },
        },
        responses: {
          '200': { description: 'accepted', content: { 'application/json': { schema: { $ref: '#/components/schemas/CommandAccepted' } } } },
          '400': problemResponse('invalid input: which field, and why'),
          '401': problemResponse('no, expired or forged bearer token'),
          '403': problemResponse('your roles may not send this command'),
          '404': problemResponse('a named stream does not exist'),
          '409': problemResponse('version conflict, or a named data subject was erased'),
          '413': problemResponse('body too large'),
          '415': problemResponse('body is not JSON'),
          '422': problemResponse('a business rule refused the command'),
        },
      },
    };
  }
  Object.assign(paths, privacyPaths(schemas));
  Object.assign(paths, retentionOpenApiPaths());
  paths['/healthz'] = { get: { summary: 'liveness', responses: { '200': { description: 'process is up' } } } };
  paths['/readyz'] = { get: { summary: 'readiness: stores answer', responses: { '200': { description: 'ready' }, '503': { description: 'not ready' } } } };
  return {
    openapi: '3.1.0',
    info: {
      title: 'CRM core',
      version: '1.0.0',
      description: 'Event-sourced CRM core. Personal fields (x-personal-data) are sealed per data subject before they are stored.',
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
  };
}

function bodySchema(schema: z.ZodType, personal: string[] = []): JsonSchema {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  delete json.$schema;
  return markPersonal(json, personal);
}

/** `/v1/privacy`: data-subject requests and legal holds (dpo and admin only). */
function privacyPaths(schemas: Record<string, unknown>): Record<string, unknown> {
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
  const json = (name: string) => ({ 'application/json': { schema: ref(name) } });
  const receipt = z.toJSONSchema(privacyReceipt, { io: 'output', unrepresentable: 'any' }) as JsonSchema;
  delete receipt.$schema;
  Object.assign(schemas, {
    PrivacyRequestBody: bodySchema(privacyRequestBody, ['reason']),
    ExtendPrivacyRequestBody: bodySchema(extendPrivacyRequestBody, ['reason']),
    RefusePrivacyRequestBody: bodySchema(refusePrivacyRequestBody, ['reason']),
    PlaceLegalHoldBody: bodySchema(placeLegalHoldBody, ['reason']),
    ReleaseLegalHoldBody: bodySchema(releaseLegalHoldBody, ['reason']),
    PrivacyReceipt: receipt,
    PrivacyRequest: {
      type: 'object',
      required: ['id', 'requestId', 'kind', 'subjectId', 'state', 'receivedAt', 'dueBy', 'extendedMonths', 'overdue', 'history'],
      properties: {
        id: { type: 'string', format: 'uuid' },
        requestId: { type: 'string', format: 'uuid' },
        kind: { type: 'string', enum: [...PRIVACY_REQUEST_KINDS] },
        subjectId: { type: 'string', format: 'uuid' },
        state: { type: 'string', enum: [...PRIVACY_REQUEST_STATES] },
        receivedAt: { type: 'string', format: 'date-time' },
        dueBy: { type: 'string', format: 'date-time', description: 'one month after receipt, plus extensions (Art. 12(3))' },
        extendedMonths: { type: 'integer', minimum: 0, maximum: 2 },
        overdue: { type: 'boolean' },
        reason: { type: ['string', 'null'], 'x-personal-data': true, description: 'null once the subject is erased' },
        closedAt: { type: 'string', format: 'date-time' },
        refusal: { type: 'object', properties: { rule: { type: 'string' }, reason: { type: ['string', 'null'], 'x-personal-data': true }, holdIds: { type: 'array', items: { type: 'string' } } } },
        receipt: ref('PrivacyReceipt'),
        history: { type: 'array', items: { type: 'object', properties: { event: { type: 'string' }, at: { type: 'string' }, position: { type: 'integer' } } } },
        links: { type: 'object', properties: { self: { type: 'string' }, export: { type: 'string' } } },
      },
    },
    LegalHold: {
      type: 'object',
      properties: {
        holdId: { type: 'string', format: 'uuid' },
        subjectId: { type: 'string', format: 'uuid' },
        legalBasis: { type: 'string' },
        until: { type: 'string', format: 'date' },
        released: { type: 'boolean' },
        standing: { type: 'boolean' },
        placedAt: { type: 'string', format: 'date-time' },
        releasedAt: { type: 'string', format: 'date-time' },
      },
    },
  });
  const common = {
    '400': problemResponse('invalid input: which field, and why'),
    '401': problemResponse('no, expired or forged bearer token'),
    '403': problemResponse('only the dpo and admin roles may act on privacy requests and holds'),
    '503': problemResponse('audit-unavailable: the action could not be audited, so it was not carried out'),
  };
  const uuidParameter = (name: string) => ({ name, in: 'path', required: true, schema: { type: 'string', format: 'uuid' } });
  const operation = (summary: string, extra: Record<string, unknown>, responses: Record<string, unknown>) => ({
    summary,
    tags: ['privacy'],
    'x-roles': PRIVACY_ROLES,
    ...extra,
    responses: { ...responses, ...common },
  });
  const body = (name: string) => ({ requestBody: { required: true, content: json(name) } });
  const answer = (status: string, name: string, description: string) => ({ [status]: { description, content: json(name) } });
  return {
    '/v1/privacy/requests': {
      post: operation(
        'Records a data-subject request and, unless carryOut is false, carries it out at once: erasure, restriction, lift-restriction and objection are done (or refused, e.g. while a legal hold stands) when the answer comes; access links the export; rectification is recorded (the correction goes through the business commands).',
        body('PrivacyRequestBody'),
        { ...answer('201', 'PrivacyRequest', 'the request, in its state after the call, with its receipt once done'), '404': problemResponse('subjectId names no known data subject') },
      ),
      get: operation(
        'Open requests by due date; overdue=true for those past their deadline; state=all|done|refused|received|in-progress; subjectId to filter.',
        {
          parameters: [
            { name: 'overdue', in: 'query', required: false, schema: { type: 'boolean' } },
            { name: 'state', in: 'query', required: false, schema: { type: 'string', enum: ['open', 'all', ...PRIVACY_REQUEST_STATES] } },
            { name: 'subjectId', in: 'query', required: false, schema: { type: 'string', format: 'uuid' } },
          ],
        },
        { '200': { description: 'requests (no reasons)' } },
      ),
    },
    '/v1/privacy/requests/{id}': {
      get: operation('A request, its history and, once done, its receipt.', { parameters: [uuidParameter('id')] }, { ...answer('200', 'PrivacyRequest', 'the request'), '404': problemResponse('no such request') }),
    },
    '/v1/privacy/requests/{id}/extend': {
      post: operation('Extends the deadline by 1 or 2 months, at most 2 in total (Art. 12(3)).', { parameters: [uuidParameter('id')], ...body('ExtendPrivacyRequestBody') }, { ...answer('200', 'PrivacyRequest', 'the request'), '404': problemResponse('no such request'), '422': problemResponse('the extension would exceed two months, or the request is closed') }),
    },
    '/v1/privacy/requests/{id}/carry-out': {
      post: operation('Carries out a recorded request, or resumes one that stopped half-way.', { parameters: [uuidParameter('id')] }, { ...answer('200', 'PrivacyRequest', 'the request'), '404': problemResponse('no such request'), '422': problemResponse('the request is closed') }),
    },
    '/v1/privacy/requests/{id}/refuse': {
      post: operation('Refuses an open request, with a reason (e.g. manifestly unfounded, Art. 12(5)).', { parameters: [uuidParameter('id')], ...body('RefusePrivacyRequestBody') }, { ...answer('200', 'PrivacyRequest', 'the request'), '404': problemResponse('no such request'), '422': problemResponse('the request is closed') }),
    },
    '/v1/privacy/holds': {
      post: operation('Places a legal hold (Art. 17(3)): erasure is refused until its end date, unless released.', body('PlaceLegalHoldBody'), { ...answer('201', 'LegalHold', 'the hold'), '404': problemResponse('subjectId names no known data subject'), '422': problemResponse('until is in the past, or the subject was erased') }),
      get: operation(
        'Legal holds, of one subject or all; standing=true for those that stand today.',
        {
          parameters: [
            { name: 'subjectId', in: 'query', required: false, schema: { type: 'string', format: 'uuid' } },
            { name: 'standing', in: 'query', required: false, schema: { type: 'boolean' } },
          ],
        },
        { '200': { description: 'holds' } },
      ),
    },
    '/v1/privacy/holds/{holdId}': {
      delete: operation('Releases a legal hold, with a reason (body, or ?reason=).', { parameters: [uuidParameter('holdId')], requestBody: { required: false, content: json('ReleaseLegalHoldBody') } }, { ...answer('200', 'LegalHold', 'the released hold'), '404': problemResponse('no such hold'), '422': problemResponse('released already') }),
    },
    '/v1/privacy/subjects/{subjectId}': {
      get: operation('A data subject\'s privacy state: key, restriction, erasure, suppression entries, holds and requests.', { parameters: [uuidParameter('subjectId')] }, { '200': { description: 'the privacy state' }, '404': problemResponse('no known data subject') }),
    },
  };
}
