import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { customerDecider, customerStream, type CustomerEvent, fold, serviceCaseDecider, serviceCaseStream, type ServiceCaseEvent } from '@crm/domain';
import { openEvent, SubjectErased } from '@crm/core';
import { type CrmUnderTest, startCrmUnderTest } from '../support/crm-under-test.ts';
import { seedWorld, type World } from '../support/valid-commands.ts';

describe('after a subject’s key is destroyed', () => {
  let crm: CrmUnderTest;
  let world: World;

  before(async () => {
    crm = await startCrmUnderTest();
    world = await seedWorld(crm, 'Erasable');
    const consent = await crm.command('GiveConsent', { customerId: world.customerId, purpose: 'marketing-email', legalBasis: 'consent', source: 'web-form', textVersion: 'v1' }, ['sales-rep']);
    assert.equal(consent.status, 200);
    const note = await crm.command('AddCaseNote', { caseId: world.caseId, text: 'Erasable note' }, ['service-agent']);
    assert.equal(note.status, 200);
    const stateBefore = await customerState();
    assert.equal(stateBefore.status, 'registered');
    await crm.runtime.keyring.destroySubjectKey(world.customerId, 'test-erasure');
  });
  after(() => crm.dispose());

  async function customerEvents() {
    const recorded = await crm.runtime.eventStore.readStream(customerStream(world.customerId));
    return Promise.all(recorded.map((r) => openEvent(r, crm.runtime.keyring)));
  }
  async function customerState() {
    return fold(customerDecider, (await customerEvents()) as unknown as CustomerEvent[]);
  }

  test('reading the subject’s events yields null for every personal field, nothing else changes', async () => {
    const events = await customerEvents();
    const registered = events.find((e) => e.type === 'CustomerRegistered')!;
    const data = registered.data as Record<string, unknown>;
    for (const field of ['name', 'email', 'phone', 'address', 'dateOfBirth']) assert.equal(data[field], null, field);
    assert.equal(data.segment, 'consumer');
    assert.equal(data.customerId, world.customerId);
    assert.deepEqual(registered.replacedSubjects, [world.customerId]);
    const note = (await Promise.all((await crm.runtime.eventStore.readStream(serviceCaseStream(world.caseId))).map((r) => openEvent(r, crm.runtime.keyring)))).find(
      (e) => e.type === 'CaseNoteAdded',
    )!;
    assert.equal((note.data as Record<string, unknown>).text, null);
  });

  test('the deciders still fold the erased history to the same state', async () => {
    const state = await customerState();
    assert.equal(state.status, 'registered');
    assert.ok(state.status === 'registered' && state.consents[world.customerId]?.includes('marketing-email'));
    const caseEvents = await Promise.all((await crm.runtime.eventStore.readStream(serviceCaseStream(world.caseId))).map((r) => openEvent(r, crm.runtime.keyring)));
    assert.equal(fold(serviceCaseDecider, caseEvents as unknown as ServiceCaseEvent[]).status, 'open');
  });

  const refused: [string, (w: World) => Record<string, unknown>][] = [
    ['ChangeCustomerDetails', (w) => ({ customerId: w.customerId, name: 'Back Again' })],
    ['GiveConsent', (w) => ({ customerId: w.customerId, purpose: 'profiling', legalBasis: 'consent', source: 'web-form', textVersion: 'v2' })],
    ['ReclassifyCustomer', (w) => ({ customerId: w.customerId, segment: 'enterprise' })],
    ['OpenServiceCase', (w) => ({ customerId: w.customerId, channel: 'phone', summary: 'New case' })],
    ['AddCaseNote', (w) => ({ caseId: w.caseId, text: 'Another note' })],
    ['OpenDeal', (w) => ({ customerId: w.customerId, title: 'New deal', amountMinor: 100, currency: 'EUR', ownerId: w.employeeId })],
  ];
  for (const [type, body] of refused) {
    test(`${type} naming the erased subject is refused with 409 subject-erased, and nothing is appended`, async () => {
      const head = await crm.runtime.eventStore.headPosition();
      const roles = type.includes('Case') ? (['service-agent'] as const) : (['sales-rep'] as const);
      const answer = await crm.command(type, body(world), [...roles]);
      assert.equal(answer.status, 409, JSON.stringify(answer.body));
      assert.match(String(answer.body.type), /subject-erased$/);
      assert.equal(answer.contentType?.startsWith('application/problem+json'), true);
      assert.equal(await crm.runtime.eventStore.headPosition(), head);
    });
  }

  test('the key store never mints a new key for the erased subject', async () => {
    await assert.rejects(crm.runtime.keyring.createSubjectKey(world.customerId), SubjectErased);
    const record = await crm.runtime.keyStore.find(world.customerId);
    assert.equal(record?.state, 'destroyed');
  });

  test('commands on other subjects still work; a won deal of the erased customer can still close', async () => {
    const win = await crm.command('WinDeal', { dealId: world.dealId }, ['sales-rep']);
    assert.equal(win.status, 200, JSON.stringify(win.body));
    const other = await crm.command('ChangeEmployeePosition', { employeeId: world.employeeId, position: 'Lead', effectiveDate: '2022-01-01' }, ['hr']);
    assert.equal(other.status, 200);
  });
});
