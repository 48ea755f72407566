import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { commandContracts, ENVELOPE_FIELDS, UNRECORDED_TEXT_VERSION } from '@crm/contracts';
import { isSealedEventData, openEvent } from '@crm/core';
import { customerStream } from '@crm/domain';
import type { CrmUnderTest } from '../support/crm-under-test.ts';
import { seededCrmForSuite } from '../support/seeded-crm.ts';
import { registerCustomer, seedWorld, validCommandBodies } from '../support/valid-commands.ts';

/**
 * The command endpoint's contract over HTTP: idempotency, optimistic concurrency, the
 * position in each answer, business-rule refusals, references to unknown streams, the
 * OpenAPI description, health endpoints and older command versions.
 */

type Json = Record<string, unknown>;

/** A random UUID v7 (48-bit ms timestamp, version 7, RFC 4122 variant). */
function uuidV7(): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(Date.now(), 0, 6);
  bytes[6] = 0x70 | (bytes[6]! & 0x0f);
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const problemType = (body: Json) => String(body.type).split(':').at(-1);

describe('HTTP commands', { timeout: 60_000 }, () => {
  const suite = seededCrmForSuite();

  const head = () => suite.crm.runtime.eventStore.headPosition();
  const activeKeys = async () => Object.values((await suite.crm.runtime.keyStore.stats()).activeKeysByKek).reduce((a, b) => a + b, 0);
  const sales = (type: string, body: unknown, headers?: Record<string, string>) => suite.crm.command(type, body, ['sales-rep'], headers);
  const agent = (type: string, body: unknown) => suite.crm.command(type, body, ['service-agent']);

  async function ok(answer: Awaited<ReturnType<CrmUnderTest['command']>>): Promise<Json> {
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return answer.body;
  }

  async function newCustomer(): Promise<string> {
    return String((await ok(await sales('RegisterCustomer', registerCustomer('Fresh', suite.world.employeeId)))).subjectId);
  }

  /** Asserts a problem answer of the given status and type that appended nothing since `before`. */
  async function assertProblem(answer: Awaited<ReturnType<CrmUnderTest['command']>>, status: number, type: string, before: number) {
    assert.equal(answer.status, status, JSON.stringify(answer.body));
    assert.match(answer.contentType ?? '', /^application\/problem\+json/);
    assert.equal(problemType(answer.body), type);
    assert.equal(answer.body.status, status);
    assert.equal(await head(), before, `a ${status} ${type} appended events`);
  }

  describe('idempotency', () => {
    test('the same Idempotency-Key twice: the same answer, duplicate: true on the second, one event appended', async () => {
      const key = `register-${randomUUID()}`;
      const before = await head();
      const first = await ok(await sales('RegisterCustomer', registerCustomer('Idem', suite.world.employeeId), { 'Idempotency-Key': key }));
      const keysAfterFirst = await activeKeys();
      const second = await ok(await sales('RegisterCustomer', registerCustomer('Idem', suite.world.employeeId), { 'Idempotency-Key': key }));
      assert.equal(await activeKeys(), keysAfterFirst, 'the retry minted a key for a data subject that was never stored');
      assert.notEqual(first.duplicate, true);
      assert.equal(second.duplicate, true);
      for (const member of ['streamId', 'subjectId', 'version', 'position'] as const) {
        assert.ok(first[member] !== undefined, `the first answer has no ${member}`);
        assert.equal(second[member], first[member], `${member} differs between the answers`);
      }
      assert.equal(await head(), before + 1, 'exactly one event appended');
      const appended = await suite.crm.runtime.eventStore.readAll({ after: before });
      assert.equal(appended.length, 1);
      assert.equal(appended[0]?.streamId, first.streamId);
    });

    test('the same body commandId twice: the same answer, duplicate: true on the second, one event appended', async () => {
      const commandId = randomUUID();
      const body = { customerId: suite.world.customerId, lifecycleStage: 'prospect', commandId };
      const before = await head();
      const first = await ok(await sales('ReclassifyCustomer', body));
      const second = await ok(await sales('ReclassifyCustomer', body));
      assert.notEqual(first.duplicate, true);
      assert.equal(second.duplicate, true);
      for (const member of ['streamId', 'version', 'position'] as const) assert.equal(second[member], first[member], `${member} differs`);
      assert.equal(await head(), before + 1, 'exactly one event appended');
      const [event] = await suite.crm.runtime.eventStore.readAll({ after: before });
      assert.equal(event?.metadata.commandId, commandId, 'the stored event carries the commandId');
    });

    test('without a key, the same command twice appends twice (the keyed tests above are not vacuous)', async () => {
      const body = { customerId: suite.world.customerId, lifecycleStage: 'lead' };
      const before = await head();
      const first = await ok(await sales('ReclassifyCustomer', body));
      const second = await ok(await sales('ReclassifyCustomer', body));
      assert.notEqual(second.duplicate, true);
      assert.equal(second.version, Number(first.version) + 1);
      assert.equal(await head(), before + 2);
    });

    test('a key reused for another command type: 422 idempotency-key-reused, nothing appended', async () => {
      const key = `reused-${randomUUID()}`;
      await ok(await sales('ReclassifyCustomer', { customerId: suite.world.customerId, segment: 'enterprise' }, { 'Idempotency-Key': key }));
      const before = await head();
      const reused = await sales('AssignAccountOwner', { customerId: suite.world.customerId, accountOwnerId: suite.world.employeeId }, { 'Idempotency-Key': key });
      await assertProblem(reused, 422, 'idempotency-key-reused', before);

      const commandId = randomUUID();
      await ok(await sales('ReclassifyCustomer', { customerId: suite.world.customerId, segment: 'consumer', commandId }));
      const beforeBody = await head();
      const reusedId = await sales('AssignAccountOwner', { customerId: suite.world.customerId, accountOwnerId: suite.world.employeeId, commandId });
      await assertProblem(reusedId, 422, 'idempotency-key-reused', beforeBody);
    });
  });

  describe('expectedVersion', () => {
    test('matching: 200 at the next version; stale: 409 version-conflict, nothing appended', async () => {
      const customerId = await newCustomer();
      const stream = customerStream(customerId);
      const current = (await suite.crm.runtime.eventStore.readStream(stream)).at(-1)?.streamVersion;
      assert.equal(current, 1);

      const matched = await ok(await sales('ReclassifyCustomer', { customerId, segment: 'enterprise', expectedVersion: current }));
      assert.equal(matched.version, 2);
      assert.equal(matched.streamId, stream);

      const before = await head();
      const stale = await sales('ReclassifyCustomer', { customerId, segment: 'consumer', expectedVersion: current });
      await assertProblem(stale, 409, 'version-conflict', before);
      assert.equal(stale.body.actualVersion, 2);
      assert.equal(stale.body.expectedVersion, 1);
      assert.equal((await suite.crm.runtime.eventStore.readStream(stream)).length, 2, 'the stream did not move');
    });

    test('ahead of the stream is a conflict too', async () => {
      const customerId = await newCustomer();
      const before = await head();
      await assertProblem(await sales('ReclassifyCustomer', { customerId, segment: 'enterprise', expectedVersion: 7 }), 409, 'version-conflict', before);
    });
  });

  test('every answer carries position equal to the store head after the command, and the stream version', async () => {
    const fresh = await seedWorld(suite.crm, 'Pos');
    const bodies = validCommandBodies(fresh, 'Pos');
    const steps: Array<[string, 'sales-rep' | 'service-agent' | 'hr']> = [
      ['RegisterCustomer', 'sales-rep'],
      ['ReclassifyCustomer', 'sales-rep'],
      ['OpenServiceCase', 'service-agent'],
      ['ResolveServiceCase', 'service-agent'],
      ['OpenDeal', 'sales-rep'],
      ['WinDeal', 'sales-rep'],
      ['RecordAbsence', 'hr'],
    ];
    let previous = await head();
    for (const [type, role] of steps) {
      const answer = await ok(await suite.crm.command(type, bodies[type], [role]));
      const now = await head();
      assert.ok(now > previous, `${type} appended nothing`);
      assert.equal(answer.position, now, `${type}: position is not the head after the command`);
      const stream = await suite.crm.runtime.eventStore.readStream(String(answer.streamId));
      assert.equal(answer.version, stream.at(-1)?.streamVersion, `${type}: version is not the stream's`);
      assert.equal(stream.at(-1)?.globalPosition, answer.position);
      previous = now;
    }
  });

  describe('business rules: 422 business-rule-violation, nothing appended', () => {
    test('resolving a resolved case', async () => {
      const caseId = String((await ok(await agent('OpenServiceCase', { customerId: suite.world.customerId, channel: 'chat', summary: 'Rule case' }))).caseId);
      await ok(await agent('ResolveServiceCase', { caseId, resolution: 'solved' }));
      const before = await head();
      const again = await agent('ResolveServiceCase', { caseId, resolution: 'duplicate' });
      await assertProblem(again, 422, 'business-rule-violation', before);
      assert.equal(again.body.rule, 'case-already-resolved');
    });

    test("moving a won deal's stage", async () => {
      const body = { customerId: suite.world.customerId, title: 'Rule deal', amountMinor: 10_00, currency: 'EUR', ownerId: suite.world.employeeId };
      const dealId = String((await ok(await sales('OpenDeal', body))).dealId);
      await ok(await sales('MoveDealStage', { dealId, stage: 'negotiation' }));
      await ok(await sales('WinDeal', { dealId }));
      const before = await head();
      const moved = await sales('MoveDealStage', { dealId, stage: 'proposal' });
      await assertProblem(moved, 422, 'business-rule-violation', before);
      assert.equal(moved.body.rule, 'deal-closed');
    });

    test('GiveConsent marketing-email after ObjectToDirectMarketing', async () => {
      const customerId = await newCustomer();
      const consent = { customerId, purpose: 'marketing-email', legalBasis: 'consent', source: 'web-form', textVersion: '2026-01' };
      await ok(await sales('GiveConsent', consent)); // allowed before the objection
      await ok(await sales('ObjectToDirectMarketing', { customerId, source: 'email' }));
      const before = await head();
      const refused = await sales('GiveConsent', consent);
      await assertProblem(refused, 422, 'business-rule-violation', before);
      assert.equal(refused.body.rule, 'objected-to-direct-marketing');
      await ok(await sales('GiveConsent', { ...consent, purpose: 'profiling' })); // not direct marketing: still allowed
    });
  });

  test('a reference to an unknown employee: 404 naming accountOwnerId, nothing appended', async () => {
    const before = await head();
    const answer = await sales('RegisterCustomer', registerCustomer('Orphan', uuidV7()));
    await assertProblem(answer, 404, 'unknown-stream', before);
    assert.match(String(answer.body.detail), /accountOwnerId/);
    const errors = answer.body.errors as Array<{ pointer: string }> | undefined;
    assert.ok(errors?.some((e) => e.pointer === '/accountOwnerId'), JSON.stringify(errors));
  });

  describe('description and health', () => {
    test('GET /openapi.json lists every command type with its request body schema', async () => {
      const response = await fetch(`${suite.crm.url}/openapi.json`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
      const doc = (await response.json()) as {
        paths: Record<string, { post?: { requestBody?: { content?: Record<string, { schema?: { $ref?: string } }> }; 'x-roles'?: unknown } }>;
        components: { schemas: Record<string, { type?: string; properties?: Record<string, Json>; required?: string[]; additionalProperties?: unknown }> };
      };
      const commandPaths = Object.keys(doc.paths).filter((p) => p.startsWith('/v1/commands/'));
      assert.deepEqual(commandPaths.sort(), [...commandContracts.keys()].map((t) => `/v1/commands/${t}`).sort());

      const bodies = validCommandBodies(suite.world);
      for (const contract of commandContracts.values()) {
        const post = doc.paths[`/v1/commands/${contract.type}`]?.post;
        assert.ok(post, `no POST for ${contract.type}`);
        assert.deepEqual(post['x-roles'], [...contract.roles]);
        const ref = post.requestBody?.content?.['application/json']?.schema?.$ref;
        assert.equal(ref, `#/components/schemas/${contract.type}`);
        const schema = doc.components.schemas[contract.type];
        assert.ok(schema?.properties, `no request body schema for ${contract.type}`);
        assert.equal(schema.type, 'object');
        assert.equal(schema.additionalProperties, false, `${contract.type} accepts unknown fields`);
        for (const field of [...Object.keys(bodies[contract.type] ?? {}), ...ENVELOPE_FIELDS]) {
          assert.ok(field in schema.properties, `${contract.type} schema lacks ${field}`);
        }
      }

      const register = doc.components.schemas.RegisterCustomer;
      assert.ok(register?.properties);
      assert.equal(register.properties.email?.format, 'email');
      assert.equal(register.properties.email?.['x-personal-data'], true);
      assert.equal(register.properties.name?.['x-personal-data'], true);
      assert.equal(register.properties.segment?.['x-personal-data'], undefined, 'segment is not personal data');
      assert.ok(register.required?.includes('name') && register.required.includes('segment'));
      assert.ok(!register.required?.includes('email'), 'email is optional');
    });

    test('/healthz and /readyz answer 200', async () => {
      for (const path of ['/healthz', '/readyz']) {
        const response = await fetch(`${suite.crm.url}${path}`);
        assert.equal(response.status, 200, path);
        const body = (await response.json()) as Json;
        assert.match(String(body.status), /^(ok|ready)$/);
      }
    });
  });

  describe('command versions', () => {
    test('GiveConsent version 1 (no textVersion) is accepted and stored upcast, with textVersion "unrecorded"', async () => {
      const customerId = await newCustomer();
      const v1 = { customerId, purpose: 'phone-marketing', legalBasis: 'consent', source: 'phone-call' };

      const before = await head();
      const current = await sales('GiveConsent', v1);
      await assertProblem(current, 400, 'validation-failed', before);
      assert.match(String(current.body.detail), /\/textVersion: is required/);

      const answer = await ok(await sales('GiveConsent?version=1', v1));
      assert.equal(answer.position, before + 1);
      const stream = await suite.crm.runtime.eventStore.readStream(customerStream(customerId));
      const stored = stream.at(-1);
      assert.ok(stored);
      assert.equal(stored.type, 'ConsentGiven');
      assert.equal(stored.globalPosition, answer.position);
      assert.equal(stored.schemaVersion, 2, 'stored in the current event version');
      assert.ok(isSealedEventData(stored.data));
      assert.equal(stored.data.plain.textVersion, UNRECORDED_TEXT_VERSION);
      assert.equal(UNRECORDED_TEXT_VERSION, 'unrecorded');
      const opened = await openEvent(stored, suite.crm.runtime.keyring);
      assert.deepEqual(opened.data, { ...v1, subjectId: customerId, textVersion: 'unrecorded' });
    });

    test('version 1 refuses the field it did not have yet', async () => {
      const before = await head();
      const answer = await sales('GiveConsent?version=1', { customerId: suite.world.customerId, purpose: 'profiling', legalBasis: 'consent', source: 'web-form', textVersion: '2026-01' });
      await assertProblem(answer, 400, 'validation-failed', before);
      assert.match(String(answer.body.detail), /\/textVersion: is not a known field/);
    });
  });
});
