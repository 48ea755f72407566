import { z } from 'zod';
import { commandContracts } from './catalogue.ts';
import { commandEnvelope } from './envelope.ts';
import type { CommandContract } from './messages.ts';
import { PROBLEM_TYPES, problemTypeUri } from './problems.ts';

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
