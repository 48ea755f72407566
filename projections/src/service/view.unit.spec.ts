import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { serviceView, SERVICE_COLLECTIONS as C } from './view.ts';
import { history, ids } from '../fixtures.ts';
import { docs, get, project, projectTwice, undeclaredFields } from '../testing.ts';

describe('service view', () => {
  test('customers with channels and consent, cases with notes and agent', () => {
    const store = project(serviceView, history());
    const { _position, registeredAt, ...anna } = get(store, C.customers, ids.anna)!;
    assert.ok(typeof _position === 'number' && typeof registeredAt === 'string');
    assert.deepEqual(anna, {
      _id: ids.anna, kind: 'person', subjectId: ids.anna, name: 'Anna A', email: 'anna@example.com', phone: '+49 170 2',
      address: { street: 'Hauptstr. 1', postalCode: '10115', city: 'Berlin', country: 'DE' }, organisationName: null, businessAddress: null,
      segment: 'consumer', lifecycleStage: 'lead', accountOwnerId: ids.rep, objectedToDirectMarketing: false,
      consents: { 'marketing-email': { legalBasis: 'consent', source: 'web-form', textVersion: 't1', givenAt: '2025-03-15T10:00:00.000Z' } },
    });
    const bob = get(store, C.contacts, ids.bob)!;
    assert.equal(bob.objectedToDirectMarketing, true);
    assert.deepEqual(bob.consents, {});
    const kase = get(store, C.cases, ids.caseA)!;
    assert.equal(kase.status, 'resolved');
    assert.equal(kase.summary, 'Router broken');
    assert.equal(kase.assignedAgentId, ids.agent);
    assert.equal(kase.noteCount, 1);
    assert.equal(get(store, C.notes, ids.noteA)?.text, 'Called back');
    const caseB = get(store, C.cases, ids.caseB)!;
    assert.deepEqual([caseB.subjectId, caseB.customerId, caseB.noteCount, caseB.resolution], [ids.bob, ids.org, 2, 'workaround']);
    assert.equal(get(store, C.contacts, ids.dora)?.customerId, ids.org);
  });
  test('replaying an event changes nothing', () => {
    assert.deepEqual(projectTwice(serviceView, history()), project(serviceView, history()));
  });
  test('erased history: personal fields null, facts intact', () => {
    const store = project(serviceView, history(true));
    const anna = get(store, C.customers, ids.anna)!;
    for (const f of ['name', 'email', 'phone', 'address']) assert.equal(anna[f], null, f);
    assert.equal(anna.segment, 'consumer');
    assert.equal(get(store, C.cases, ids.caseA)?.summary, null);
    assert.equal(get(store, C.cases, ids.caseA)?.status, 'resolved');
    assert.equal(get(store, C.notes, ids.noteA)?.text, null);
  });
  test('every field of every document is declared', () => {
    assert.deepEqual(undeclaredFields(serviceView, project(serviceView, history())), []);
    assert.equal(docs(project(serviceView, history()), C.cases).length, 2);
  });
});
