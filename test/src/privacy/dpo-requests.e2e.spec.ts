/**
 * The DPO's requests over HTTP, on the embedded default: lifecycle and deadlines (with a
 * clock the test moves), legal holds against erasure, erasure with its receipt and twice,
 * suppression of an erased person's email and phone (refused, or flagged), restriction and
 * its lifting, objection, and who may do any of it. Audit entries and answers carry ids and
 * codes only: the reasons given and the contact data never come back in an error, a log line
 * or the audit log.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Role } from '@crm/contracts';
import { privacySubjectStream } from '@crm/domain';
import { type CrmUnderTest, startCrmUnderTest } from '../support/crm-under-test.ts';
import { registerCustomer, seedWorld, type World } from '../support/valid-commands.ts';

const MARKER = 'Zephyrine';
const REASON = `Letter of ${MARKER} Quillfeather, received by post`;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function client(crm: CrmUnderTest) {
  return async (method: string, path: string, body?: unknown, roles: Role[] = ['dpo']): Promise<{ status: number; body: Json; text: string }> => {
    const headers: Record<string, string> = { authorization: `Bearer ${await crm.token(roles)}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${crm.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Json) : {}, text };
  };
}

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs `crm privacy …` as its own process against the CRM under test. */
async function cli(crm: CrmUnderTest, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', CRM_DATA_DIR: crm.dataDir, CRM_TOKEN: await crm.token(['dpo'], { subject: 'cli-dpo' }) };
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'services/api/src/cli.ts', 'privacy', ...args, '--url', crm.url], { cwd: REPO, env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const addDays = (date: Date, days: number) => new Date(date.getTime() + days * 86_400_000);
const day = (date: Date) => date.toISOString().slice(0, 10);

describe('DPO requests, holds, erasure, suppression and restriction (embedded default)', { timeout: 120_000 }, () => {
  let clock = new Date('2026-06-01T08:00:00.000Z');
  let crm: CrmUnderTest;
  let world: World;
  let call: ReturnType<typeof client>;
  let firstErasure: Json;

  before(async () => {
    crm = await startCrmUnderTest({}, { privacyClock: () => clock });
    call = client(crm);
    world = await seedWorld(crm, MARKER);
  });
  after(() => crm.dispose());

  test('only dpo and admin may act (403 for every other role, 401 without a token)', async () => {
    const request = { kind: 'access', subjectId: world.customerId, reason: REASON };
    for (const role of ['service-agent', 'sales-rep', 'hr', 'management', 'analyst', 'guest'] as Role[]) {
      assert.equal((await call('POST', '/v1/privacy/requests', request, [role])).status, 403, role);
      assert.equal((await call('GET', '/v1/privacy/requests', undefined, [role])).status, 403, role);
      assert.equal((await call('POST', '/v1/privacy/holds', { subjectId: world.customerId, legalBasis: 'x', until: '2099-01-01', reason: 'x' }, [role])).status, 403, role);
      assert.equal((await call('GET', `/v1/privacy/subjects/${world.customerId}`, undefined, [role])).status, 403, role);
    }
    const anonymous = await fetch(`${crm.url}/v1/privacy/requests`);
    assert.equal(anonymous.status, 401);
    const byAdmin = await call('POST', '/v1/privacy/requests', { ...request, kind: 'rectification' }, ['admin']);
    assert.equal(byAdmin.status, 201, byAdmin.text);
    assert.equal(byAdmin.body.state, 'done');
    assert.equal(byAdmin.body.receipt.kind, 'rectification');
    assert.ok(byAdmin.body.receipt.commands.includes('ChangeCustomerDetails'));
  });

  test('a request is received, due in a month, extended by at most two, listed when overdue, then carried out with its receipt', async () => {
    const received = await call('POST', '/v1/privacy/requests', { kind: 'access', subjectId: world.customerId, reason: REASON, carryOut: false });
    assert.equal(received.status, 201, received.text);
    const id = received.body.id as string;
    assert.equal(received.body.requestId, id);
    assert.equal(received.body.state, 'received');
    assert.equal(received.body.receivedAt, clock.toISOString());
    assert.equal(received.body.dueBy, '2026-07-01T08:00:00.000Z');
    assert.equal(received.body.overdue, false);

    const open = await call('GET', '/v1/privacy/requests');
    assert.ok(open.body.items.some((r: Json) => r.requestId === id && r.state === 'received'));
    assert.equal((await call('GET', '/v1/privacy/requests?overdue=true')).body.items.length, 0);

    const extended = await call('POST', `/v1/privacy/requests/${id}/extend`, { reason: `complex: ${REASON}`, months: 1 });
    assert.equal(extended.status, 200, extended.text);
    assert.equal(extended.body.dueBy, '2026-08-01T08:00:00.000Z');
    assert.equal(extended.body.extendedMonths, 1);
    const tooLong = await call('POST', `/v1/privacy/requests/${id}/extend`, { reason: 'more', months: 2 });
    assert.equal(tooLong.status, 422, tooLong.text);
    assert.equal(tooLong.body.rule, 'deadline-extension-limit');
    assert.equal((await call('POST', `/v1/privacy/requests/${id}/extend`, { reason: 'x', months: 3 })).status, 400);

    clock = new Date('2026-08-02T08:00:00.000Z');
    const overdue = await call('GET', '/v1/privacy/requests?overdue=true');
    assert.deepEqual(
      overdue.body.items.map((r: Json) => [r.requestId, r.overdue]),
      [[id, true]],
    );
    assert.equal((await call('GET', `/v1/privacy/requests/${id}`)).body.overdue, true);

    const done = await call('POST', `/v1/privacy/requests/${id}/carry-out`);
    assert.equal(done.status, 200, done.text);
    assert.equal(done.body.state, 'done');
    assert.equal(done.body.overdue, false);
    assert.deepEqual(done.body.receipt.export, { href: `/v1/privacy/subjects/${world.customerId}/export`, format: 'application/json' });
    assert.equal(done.body.links.export, `/v1/privacy/subjects/${world.customerId}/export`);
    assert.equal((await call('GET', done.body.links.export)).status, 200, 'the receipt links the export');

    const shown = await call('GET', `/v1/privacy/requests/${id}`);
    assert.equal(shown.body.reason, REASON);
    assert.deepEqual(
      shown.body.history.map((h: Json) => h.event),
      ['PrivacyRequestReceived', 'PrivacyRequestDeadlineExtended', 'PrivacyRequestStarted', 'PrivacyRequestCompleted'],
    );
    assert.equal(shown.body.receipt.kind, 'access');
    assert.ok(!(await call('GET', '/v1/privacy/requests')).body.items.some((r: Json) => r.requestId === id));
    assert.ok((await call('GET', '/v1/privacy/requests?state=done')).body.items.some((r: Json) => r.requestId === id));
    const closed = await call('POST', `/v1/privacy/requests/${id}/extend`, { reason: 'late', months: 1 });
    assert.equal(closed.status, 422);
    assert.equal(closed.body.rule, 'request-closed');
    clock = new Date('2026-06-01T08:00:00.000Z');
  });

  test('a DPO can refuse a request, with a reason', async () => {
    const received = await call('POST', '/v1/privacy/requests', { kind: 'access', subjectId: world.employeeId, reason: REASON, carryOut: false });
    const refused = await call('POST', `/v1/privacy/requests/${received.body.id}/refuse`, { reason: 'manifestly unfounded (Art. 12(5))' });
    assert.equal(refused.status, 200, refused.text);
    assert.equal(refused.body.state, 'refused');
    assert.deepEqual(refused.body.refusal, { rule: 'refused-by-dpo', reason: 'manifestly unfounded (Art. 12(5))' });
  });

  test('a legal hold refuses erasure with its legal basis and end date; after its release the erasure goes through with a full receipt', async () => {
    const until = day(addDays(clock, 365));
    const placed = await call('POST', '/v1/privacy/holds', { subjectId: world.customerId, legalBasis: 'HGB §257 (10 years)', until, reason: `tax audit of ${MARKER}` });
    assert.equal(placed.status, 201, placed.text);
    assert.equal(placed.body.standing, true);
    const holdId = placed.body.holdId as string;
    assert.deepEqual((await call('GET', `/v1/privacy/holds?subjectId=${world.customerId}&standing=true`)).body.items.map((h: Json) => h.holdId), [holdId]);

    const refused = await call('POST', '/v1/privacy/requests', { kind: 'erasure', subjectId: world.customerId, reason: REASON });
    assert.equal(refused.status, 201, refused.text);
    assert.equal(refused.body.state, 'refused');
    assert.equal(refused.body.refusal.rule, 'legal-hold');
    assert.deepEqual(refused.body.refusal.holdIds, [holdId]);
    assert.match(refused.body.refusal.reason, new RegExp(`HGB §257 \\(10 years\\) until ${until}`));
    assert.equal((await crm.runtime.keyStore.find(world.customerId))?.state, 'active');
    assert.equal((await crm.command('ReclassifyCustomer', { customerId: world.customerId, segment: 'enterprise' }, ['sales-rep'])).status, 200);

    const released = await call('DELETE', `/v1/privacy/holds/${holdId}`, { reason: 'audit closed' });
    assert.equal(released.status, 200, released.text);
    assert.equal(released.body.released, true);
    assert.equal(released.body.standing, false);
    assert.equal((await call('DELETE', `/v1/privacy/holds/${holdId}`, { reason: 'again' })).status, 422);

    const erased = await call('POST', '/v1/privacy/requests', { kind: 'erasure', subjectId: world.customerId, reason: REASON });
    assert.equal(erased.status, 201, erased.text);
    assert.equal(erased.body.state, 'done', erased.text);
    const receipt = erased.body.receipt as Json;
    firstErasure = receipt;
    assert.equal(receipt.kind, 'erasure');
    assert.equal(receipt.subjectId, world.customerId);
    assert.equal(receipt.keys.destroyed, true);
    assert.equal(receipt.keys.alreadyDestroyed, false);
    assert.equal(receipt.keys.destroyedBy, erased.body.id);
    assert.deepEqual(receipt.keys.keyVersions, [1]);
    const tombstone = await crm.runtime.keyStore.find(world.customerId);
    assert.ok(tombstone?.state === 'destroyed');
    assert.equal(receipt.keys.destroyedAt, tombstone.tombstone.destroyedAt);
    assert.deepEqual(receipt.suppression, { entries: 2, recorded: true });
    assert.equal(receipt.notification.event, 'SubjectForgotten');
    assert.equal(receipt.notification.streamId, privacySubjectStream(world.customerId));
    assert.equal(receipt.notification.bus, 'in-process');
    assert.equal(receipt.notification.published, true);
    const forgotten = (await crm.runtime.eventStore.readStream(privacySubjectStream(world.customerId))).filter((e) => e.type === 'SubjectForgotten');
    assert.deepEqual(forgotten.map((e) => e.globalPosition), [receipt.notification.position]);
    assert.deepEqual(receipt.views.map((v: Json) => v.view).sort(), crm.runtime.views.map((v) => v.name).sort());
    for (const view of receipt.views as Json[]) {
      assert.equal(view.reached, true, view.view);
      assert.ok(view.position >= receipt.notification.position, view.view);
      assert.ok(view.scrubbed, `${view.view}: the projector recorded what its scrub did`);
    }
    assert.ok(receipt.views.some((v: Json) => v.scrubbed.deleted + v.scrubbed.unlinked > 0));
    assert.equal(receipt.keyCache.ttlMs, crm.runtime.config.keyCacheTtlMs);
    assert.equal(receipt.keyCache.effectiveEverywhereBy, new Date(new Date(tombstone.tombstone.destroyedAt).getTime() + crm.runtime.config.keyCacheTtlMs).toISOString());
    assert.equal(receipt.verification.passed, true);
    assert.equal(receipt.verification.keyStore, 'destroyed');
    assert.equal(receipt.verification.stillOpening, 0);
    assert.ok(receipt.verification.sealedValues >= 3, 'registration, case summary, hold and request reasons');
    assert.ok(!JSON.stringify(receipt).includes(MARKER));

    // The receipt stays readable after the erasure; the request's own reason is gone with the key.
    const shown = await call('GET', `/v1/privacy/requests/${erased.body.id}`);
    assert.deepEqual(shown.body.receipt, receipt);
    assert.equal(shown.body.reason, null);
    const refusedLater = await call('GET', `/v1/privacy/requests/${refused.body.id}`);
    assert.equal(refusedLater.body.refusal.rule, 'legal-hold');
    assert.equal(refusedLater.body.refusal.reason, null);
    const subject = await call('GET', `/v1/privacy/subjects/${world.customerId}`);
    assert.equal(subject.body.key, 'destroyed');
    assert.equal(subject.body.forgotten.requestId, erased.body.id);
  });

  test('erasing the same subject again completes with a receipt that says the key was destroyed already, and appends no second SubjectForgotten', async () => {
    const again = await call('POST', '/v1/privacy/requests', { kind: 'erasure', subjectId: world.customerId, reason: REASON });
    assert.equal(again.status, 201, again.text);
    assert.equal(again.body.state, 'done');
    assert.equal(again.body.reason, null, 'nothing can be sealed under a destroyed key: the reason is not kept');
    const receipt = again.body.receipt as Json;
    assert.equal(receipt.keys.alreadyDestroyed, true);
    assert.equal(receipt.keys.destroyedAt, firstErasure.keys.destroyedAt);
    assert.equal(receipt.keys.destroyedBy, firstErasure.keys.destroyedBy);
    assert.deepEqual(receipt.notification, firstErasure.notification);
    assert.equal(receipt.suppression.entries, 2);
    assert.equal(receipt.verification.passed, true);
    const forgotten = (await crm.runtime.eventStore.readStream(privacySubjectStream(world.customerId))).filter((e) => e.type === 'SubjectForgotten');
    assert.equal(forgotten.length, 1);
  });

  test('registering the erased person again is refused by email (however written), flagged by phone alone, never echoing the value', async () => {
    const head = await crm.runtime.eventStore.headPosition();
    const same = registerCustomer(MARKER);
    const refused = await crm.command('RegisterCustomer', same, ['sales-rep']);
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.equal(refused.body.type, 'urn:crm:problem:subject-suppressed');
    assert.deepEqual((refused.body.errors as Json[]).map((e) => e.pointer).sort(), ['/email', '/phone']);
    assert.ok(!JSON.stringify(refused.body).includes(same.email) && !JSON.stringify(refused.body).includes(same.phone));
    const shouted = await crm.command('RegisterCustomer', { ...same, email: same.email.toUpperCase(), phone: '+49 30 0000001' }, ['sales-rep']);
    assert.equal(shouted.status, 409);
    assert.deepEqual((shouted.body.errors as Json[]).map((e) => e.pointer), ['/email']);
    const asEmployee = await crm.command('HireEmployee', { name: 'N', email: same.email, position: 'P', department: 'D', salaryBand: 'B1', startDate: '2026-01-01' }, ['hr']);
    assert.equal(asEmployee.status, 409);
    const inOrganisation = await crm.command('RegisterOrganisation', { organisationName: 'O', segment: 'enterprise', contacts: [{ name: 'A' }, { name: 'B', email: same.email }] }, ['sales-rep']);
    assert.equal(inOrganisation.status, 409);
    assert.deepEqual((inOrganisation.body.errors as Json[]).map((e) => e.pointer), ['/contacts/1/email']);
    assert.equal(await crm.runtime.eventStore.headPosition(), head, 'nothing was appended');
    // A phone number is often shared (a switchboard, a household): alone it only flags.
    const samePhone = await crm.command('AddContactPerson', { customerId: world.organisationId, name: 'N', phone: '+49 (30) 765-4321' }, ['sales-rep']);
    assert.equal(samePhone.status, 200, JSON.stringify(samePhone.body));
    assert.deepEqual(samePhone.body.flags, ['previously-erased']);
    const someoneElse = await crm.command('RegisterCustomer', { ...same, email: 'someone.else@example.org', phone: '+49 30 0000000' }, ['sales-rep']);
    assert.equal(someoneElse.status, 200, JSON.stringify(someoneElse.body));
    assert.equal(someoneElse.body.flags, undefined);
  });

  test('a restricted subject stays stored but their commands are refused until the restriction is lifted; privacy requests still work', async () => {
    const registered = await crm.command('RegisterCustomer', { name: `${MARKER} Restricted`, email: 'restricted@example.org', segment: 'consumer' }, ['sales-rep']);
    const customerId = registered.body.subjectId as string;
    const restrict = await call('POST', '/v1/privacy/requests', { kind: 'restriction', subjectId: customerId, reason: REASON });
    assert.equal(restrict.status, 201, restrict.text);
    assert.equal(restrict.body.state, 'done');
    assert.equal(restrict.body.receipt.restricted, true);
    assert.equal(restrict.body.receipt.changed, true);
    const again = await call('POST', '/v1/privacy/requests', { kind: 'restriction', subjectId: customerId, reason: REASON });
    assert.equal(again.body.receipt.changed, false);

    const head = await crm.runtime.eventStore.headPosition();
    for (const [type, body, role] of [
      ['ChangeCustomerDetails', { customerId, name: 'Other Name' }, 'sales-rep'],
      ['ReclassifyCustomer', { customerId, segment: 'enterprise' }, 'sales-rep'],
      ['GiveConsent', { customerId, purpose: 'profiling', legalBasis: 'consent', source: 'web-form', textVersion: 'v1' }, 'sales-rep'],
      ['OpenServiceCase', { customerId, channel: 'phone', summary: 'Restricted case' }, 'service-agent'],
      ['OpenDeal', { customerId, title: 'Deal', amountMinor: 100, currency: 'EUR', ownerId: world.employeeId }, 'sales-rep'],
    ] as const) {
      const answer = await crm.command(type, body, [role]);
      assert.equal(answer.status, 409, `${type}: ${JSON.stringify(answer.body)}`);
      assert.equal(answer.body.type, 'urn:crm:problem:subject-restricted');
      assert.equal(answer.body.subjectId, customerId);
    }
    assert.equal(await crm.runtime.eventStore.headPosition(), head);
    assert.ok((await crm.runtime.eventStore.readStream(`customer-${customerId}`)).length > 0, 'kept');

    // An objection is a privacy request: carried out although processing is restricted.
    const objection = await call('POST', '/v1/privacy/requests', { kind: 'objection', subjectId: customerId, reason: REASON, source: 'paper-form' });
    assert.equal(objection.body.state, 'done', objection.text);
    assert.equal(objection.body.receipt.changed, true);

    const lift = await call('POST', '/v1/privacy/requests', { kind: 'lift-restriction', subjectId: customerId, reason: REASON });
    assert.equal(lift.body.state, 'done');
    assert.equal(lift.body.receipt.restricted, false);
    assert.equal((await crm.command('ChangeCustomerDetails', { customerId, name: 'Other Name' }, ['sales-rep'])).status, 200);
    const marketing = await crm.command('GiveConsent', { customerId, purpose: 'marketing-email', legalBasis: 'consent', source: 'web-form', textVersion: 'v1' }, ['sales-rep']);
    assert.equal(marketing.status, 422, 'the objection holds for good');
  });

  test("an objection goes through the customer's own command: a contact person leaves direct marketing for good; an employee is no customer", async () => {
    const objection = await call('POST', '/v1/privacy/requests', { kind: 'objection', subjectId: world.contactSubjectId, reason: REASON });
    assert.equal(objection.body.state, 'done', objection.text);
    assert.equal(objection.body.receipt.customerId, world.organisationId);
    assert.equal(objection.body.receipt.streamId, `customer-${world.organisationId}`);
    const recorded = await crm.runtime.eventStore.readStream(`customer-${world.organisationId}`);
    const objected = recorded.find((e) => e.type === 'DirectMarketingObjected');
    assert.equal(objected?.globalPosition, objection.body.receipt.position);
    assert.equal(objected?.metadata.correlationId, objection.body.id);
    const consent = await crm.command('GiveConsent', { customerId: world.organisationId, subjectId: world.contactSubjectId, purpose: 'phone-marketing', legalBasis: 'consent', source: 'phone-call', textVersion: 'v1' }, ['sales-rep']);
    assert.equal(consent.status, 422);
    const employee = await call('POST', '/v1/privacy/requests', { kind: 'objection', subjectId: world.employeeId, reason: REASON });
    assert.equal(employee.body.state, 'refused');
    assert.equal(employee.body.refusal.rule, 'not-a-customer');
  });

  test('a contact person and an employee are erased too: their values come from the streams that hold them, and they are recognised again', async () => {
    for (const subjectId of [world.contactSubjectId, world.employeeId]) {
      const erased = await call('POST', '/v1/privacy/requests', { kind: 'erasure', subjectId, reason: REASON });
      assert.equal(erased.body.state, 'done', erased.text);
      assert.equal(erased.body.receipt.verification.passed, true);
      assert.ok(erased.body.receipt.verification.sealedValues >= 1);
      assert.deepEqual(erased.body.receipt.suppression, { entries: 2, recorded: true });
    }
    const contact = await crm.command('AddContactPerson', { customerId: world.organisationId, name: 'N', email: `${MARKER.toLowerCase()}.contact@example.org` }, ['sales-rep']);
    assert.equal(contact.status, 409);
    const employee = await crm.command('HireEmployee', { name: 'N', email: `${MARKER.toLowerCase()}.employee@example.org`, position: 'P', department: 'D', salaryBand: 'B1', startDate: '2026-01-01' }, ['hr']);
    assert.equal(employee.status, 409);
  });

  test('bad input, unknown ids and unknown subjects are problems that never echo what was sent', async () => {
    const bad = await call('POST', '/v1/privacy/requests', { kind: `erase-${MARKER}`, subjectId: world.customerId, reason: REASON });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body.errors.map((e: Json) => e.pointer), ['/kind']);
    const unknownSubject = await call('POST', '/v1/privacy/requests', { kind: 'erasure', subjectId: '01900000-0000-7000-8000-000000000000', reason: REASON });
    assert.equal(unknownSubject.status, 404);
    assert.equal(unknownSubject.body.type, 'urn:crm:problem:unknown-subject');
    assert.equal((await call('GET', '/v1/privacy/requests/01900000-0000-7000-8000-000000000000')).body.type, 'urn:crm:problem:unknown-privacy-record');
    assert.equal((await call('GET', '/v1/privacy/requests/not-a-uuid')).status, 400);
    assert.equal((await call('DELETE', '/v1/privacy/holds/01900000-0000-7000-8000-000000000000', { reason: 'x' })).status, 404);
    const someone = (await crm.command('RegisterCustomer', { name: 'Held', segment: 'consumer' }, ['sales-rep'])).body.subjectId;
    const pastHold = await call('POST', '/v1/privacy/holds', { subjectId: someone, legalBasis: 'x', until: '2020-01-01', reason: REASON });
    assert.equal(pastHold.status, 422);
    assert.equal(pastHold.body.rule, 'hold-ends-in-the-past');
    for (const answer of [bad, unknownSubject, pastHold]) assert.ok(!answer.text.includes(MARKER), answer.text);
  });

  test('every privacy action is audited with ids and purposes only; no reason or contact value reaches the audit log or the logs', async () => {
    const entries = await crm.runtime.audit.list({ subjectId: world.customerId, limit: 1000 });
    const actions = new Set(entries.map((e) => e.action));
    for (const action of ['privacy.request', 'privacy.erase', 'privacy.access', 'privacy.hold', 'privacy.hold.release', 'privacy.request.extend', 'privacy.request.read']) {
      assert.ok(actions.has(action), action);
    }
    for (const entry of entries.filter((e) => e.action.startsWith('privacy.'))) {
      assert.ok(entry.roles.includes('dpo') || entry.roles.includes('admin'));
      assert.deepEqual(entry.subjectIds, [world.customerId]);
    }
    const everything = JSON.stringify(await crm.runtime.audit.list({ limit: 1000 }));
    assert.ok(!everything.includes(MARKER) && !everything.includes('Quillfeather'));
    const logs = crm.logs.join('\n');
    assert.ok(!logs.includes(MARKER) && !logs.includes(registerCustomer(MARKER).email), 'no personal value in the logs');
  });
});

describe('the privacy state after a restart', { timeout: 120_000 }, () => {
  test('a new process reads requests, holds, restrictions and suppression entries back from the event store', async () => {
    const first = await startCrmUnderTest();
    const call = client(first);
    const erasedId = (await first.command('RegisterCustomer', registerCustomer('Restarted'), ['sales-rep'])).body.subjectId as string;
    const restrictedId = (await first.command('RegisterCustomer', { name: 'Kept', segment: 'consumer' }, ['sales-rep'])).body.subjectId as string;
    const heldId = (await first.command('RegisterCustomer', { name: 'Held', segment: 'consumer' }, ['sales-rep'])).body.subjectId as string;
    assert.equal((await call('POST', '/v1/privacy/requests', { kind: 'erasure', subjectId: erasedId, reason: REASON })).body.state, 'done');
    assert.equal((await call('POST', '/v1/privacy/requests', { kind: 'restriction', subjectId: restrictedId, reason: REASON })).body.state, 'done');
    const hold = await call('POST', '/v1/privacy/holds', { subjectId: heldId, legalBasis: 'AO §147', until: '2099-12-31', reason: REASON });
    const open = await call('POST', '/v1/privacy/requests', { kind: 'access', subjectId: heldId, reason: REASON, carryOut: false });
    await first.stop();

    const second = await startCrmUnderTest({}, { dataDir: first.dataDir });
    try {
      const again = client(second);
      assert.deepEqual((await again('GET', '/v1/privacy/requests')).body.items.map((r: Json) => r.requestId), [open.body.id]);
      assert.deepEqual((await again('GET', `/v1/privacy/holds?subjectId=${heldId}&standing=true`)).body.items.map((h: Json) => h.holdId), [hold.body.holdId]);
      assert.equal((await second.command('ReclassifyCustomer', { customerId: restrictedId, segment: 'enterprise' }, ['sales-rep'])).status, 409);
      assert.equal((await second.command('RegisterCustomer', registerCustomer('Restarted'), ['sales-rep'])).status, 409);
      const refused = await again('POST', '/v1/privacy/requests', { kind: 'erasure', subjectId: heldId, reason: REASON });
      assert.equal(refused.body.refusal.rule, 'legal-hold');
    } finally {
      await second.dispose();
    }
  });
});

describe('crm privacy (the DPO command line)', { timeout: 120_000 }, () => {
  let crm: CrmUnderTest;
  before(async () => {
    crm = await startCrmUnderTest();
  });
  after(() => crm.dispose());

  test('hold, forget (refused), release, forget, receipt and requests go through the HTTP API', async () => {
    const customerId = (await crm.command('RegisterCustomer', registerCustomer('Commandline'), ['sales-rep'])).body.subjectId as string;
    const hold = await cli(crm, ['hold', customerId, '--basis', 'AO §147', '--until', '2099-12-31', '--reason', 'tax audit']);
    assert.equal(hold.code, 0, hold.stderr);
    const holdId = (JSON.parse(hold.stdout) as Json).holdId as string;
    const refused = await cli(crm, ['forget', customerId, '--reason', 'asked by letter']);
    assert.equal(refused.code, 1, 'a refused erasure is a failure');
    assert.equal((JSON.parse(refused.stdout) as Json).refusal.rule, 'legal-hold');
    assert.equal((await cli(crm, ['release', holdId, '--reason', 'audit closed'])).code, 0);
    const forgotten = await cli(crm, ['forget', customerId, '--reason', 'asked by letter']);
    assert.equal(forgotten.code, 0, forgotten.stderr);
    const request = JSON.parse(forgotten.stdout) as Json;
    assert.equal(request.state, 'done');
    const receipt = await cli(crm, ['receipt', request.id]);
    assert.deepEqual(JSON.parse(receipt.stdout), request.receipt);
    const listed = await cli(crm, ['requests', '--all']);
    assert.ok((JSON.parse(listed.stdout) as Json).items.some((r: Json) => r.requestId === request.id));
    const unknown = await cli(crm, ['receipt', '01900000-0000-7000-8000-000000000000']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /404/);
    const entries = await crm.runtime.audit.list({ actor: 'cli-dpo' });
    assert.ok(entries.some((e) => e.action === 'privacy.erase'));
  });
});

describe('suppression in flag mode (CRM_SUPPRESSION=flag)', { timeout: 60_000 }, () => {
  let crm: CrmUnderTest;
  before(async () => {
    crm = await startCrmUnderTest({ CRM_SUPPRESSION: 'flag' });
  });
  after(() => crm.dispose());

  test('re-registering an erased person is accepted and flagged previously-erased, also on a retry', async () => {
    const body = registerCustomer('Flagged');
    const first = await crm.command('RegisterCustomer', body, ['sales-rep']);
    const call = client(crm);
    const erased = await call('POST', '/v1/privacy/requests', { kind: 'erasure', subjectId: first.body.subjectId, reason: 'asked by phone' });
    assert.equal(erased.body.state, 'done', erased.text);
    const again = await crm.command('RegisterCustomer', body, ['sales-rep'], { 'Idempotency-Key': 'flagged-again' });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.deepEqual(again.body.flags, ['previously-erased']);
    assert.notEqual(again.body.subjectId, first.body.subjectId);
    const retry = await crm.command('RegisterCustomer', body, ['sales-rep'], { 'Idempotency-Key': 'flagged-again' });
    assert.deepEqual(retry.body.flags, ['previously-erased']);
    assert.equal(retry.body.subjectId, again.body.subjectId);
    const fresh = await crm.command('RegisterCustomer', { ...body, email: 'new.person@example.org', phone: '+49 89 5550000' }, ['sales-rep']);
    assert.equal(fresh.body.flags, undefined);
  });
});
