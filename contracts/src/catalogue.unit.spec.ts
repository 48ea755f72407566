import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { commandContracts, eventContracts } from './catalogue.ts';
import { openApiDocument } from './openapi.ts';
import { ConsentGiven, GiveConsent } from './consent.ts';
import { upcastToCurrent } from './messages.ts';
import { PRIVACY_EVENT_TYPES } from './privacy.ts';

type Json = Record<string, unknown>;

/** Every property path of a JSON schema, `list[].field` style, with its schema. */
function properties(schema: Json, prefix = ''): [string, Json][] {
  const out: [string, Json][] = [];
  for (const [name, child] of Object.entries((schema.properties ?? {}) as Record<string, Json>)) {
    const variants = (child.anyOf as Json[] | undefined) ?? [child];
    for (const variant of variants) {
      const path = prefix + name;
      out.push([path, variant]);
      if (variant.type === 'object') out.push(...properties(variant, `${path}.`));
      if (variant.type === 'array' && (variant.items as Json | undefined)?.type === 'object') out.push(...properties(variant.items as Json, `${path}[].`));
    }
  }
  return out;
}

describe('contracts catalogue', () => {
  test('every personal field an event declares exists in its schema', () => {
    for (const contract of eventContracts.values()) {
      const paths = new Set(properties(z.toJSONSchema(contract.schema, { unrepresentable: 'any' }) as Json).map(([p]) => p));
      for (const group of contract.personal) {
        for (const field of [group.subject, ...group.fields]) assert.ok(paths.has(field), `${contract.type}: ${field}`);
      }
    }
  });

  test('every email, phone, name and address field of a command is declared personal', () => {
    // An organisation's business address is not a person's data.
    const notPersonal = new Set(['RegisterOrganisation.address']);
    for (const contract of commandContracts.values()) {
      for (const [path, schema] of properties(z.toJSONSchema(contract.schema, { io: 'input', unrepresentable: 'any' }) as Json)) {
        const leaf = path.split('.').at(-1)!.replace('[]', '');
        const looksPersonal = schema.format === 'email' || ['name', 'phone', 'address', 'dateOfBirth', 'text', 'summary'].includes(leaf);
        if (looksPersonal && !path.includes('address.') && !notPersonal.has(`${contract.type}.${path}`)) assert.ok(contract.personal.includes(path), `${contract.type}.${path} must be personal`);
      }
    }
  });

  test('the OpenAPI document has every command, with format email and x-personal-data on emails', () => {
    const doc = openApiDocument() as { paths: Json; components: { schemas: Record<string, Json> } };
    for (const type of commandContracts.keys()) assert.ok(`/v1/commands/${type}` in doc.paths, type);
    const email = (doc.components.schemas.RegisterCustomer!.properties as Record<string, Json>).email!;
    assert.equal(email.format, 'email');
    assert.equal(email['x-personal-data'], true);
    const contactEmail = (((doc.components.schemas.RegisterOrganisation!.properties as Record<string, Json>).contacts!.items as Json).properties as Record<string, Json>).email!;
    assert.equal(contactEmail.format, 'email');
    assert.equal(contactEmail['x-personal-data'], true);
  });

  test('version 1 of ConsentGiven and GiveConsent upcast to version 2 with an unrecorded text version', () => {
    const v1 = { customerId: '01a21a3e-714b-73ed-9f04-5ed346acead0', subjectId: '01a21a3e-714b-73ed-9f04-5ed346acead1', purpose: 'profiling', legalBasis: 'consent', source: 'web-form' };
    const lifted = upcastToCurrent(ConsentGiven, 1, v1);
    assert.deepEqual(lifted, { ...v1, textVersion: 'unrecorded' });
    assert.ok(ConsentGiven.schema.safeParse(lifted).success);
    assert.deepEqual(upcastToCurrent(GiveConsent, 1, v1), { ...v1, textVersion: 'unrecorded' });
    assert.deepEqual(upcastToCurrent(ConsentGiven, 2, lifted), lifted);
    assert.throws(() => upcastToCurrent(ConsentGiven, 3, v1), RangeError);
  });

  test('every reason of a privacy event is personal data of its subject; receipts hold none', () => {
    for (const type of PRIVACY_EVENT_TYPES) {
      const contract = eventContracts.get(type);
      assert.ok(contract, type);
      const fields = Object.keys((z.toJSONSchema(contract.schema, { unrepresentable: 'any' }) as Json).properties as Json);
      if (fields.includes('reason')) assert.deepEqual(contract.personal, [{ subject: 'subjectId', fields: ['reason'] }], type);
      else assert.deepEqual(contract.personal, [], type);
      assert.ok(contract.subjects.includes('subjectId'), type);
    }
  });

  test('the OpenAPI document describes /v1/privacy for dpo and admin, with reasons marked personal', () => {
    const doc = openApiDocument() as { paths: Record<string, Record<string, Json>>; components: { schemas: Record<string, Json> } };
    for (const path of ['/v1/privacy/requests', '/v1/privacy/requests/{id}', '/v1/privacy/requests/{id}/extend', '/v1/privacy/holds', '/v1/privacy/holds/{holdId}']) {
      assert.ok(path in doc.paths, path);
      for (const operation of Object.values(doc.paths[path]!)) assert.deepEqual(operation['x-roles'], ['dpo', 'admin'], path);
    }
    const reason = (doc.components.schemas.PrivacyRequestBody!.properties as Record<string, Json>).reason!;
    assert.equal(reason['x-personal-data'], true);
  });
});
