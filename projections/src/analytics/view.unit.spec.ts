import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createAnalyticsView, ANALYTICS_COLLECTIONS as A } from './view.ts';
import { ageBand, region, tenureBand } from './generalise.ts';
import { history, ids } from '../fixtures.ts';
import { docs, get, project, projectTwice, undeclaredFields } from '../testing.ts';
import { evaluatePipeline } from '../evaluate-pipeline.ts';
import type { Pipeline } from '@crm/core';

const pseudonymise = (id: string) => createHmac('sha256', 'analytics-test-key').update(id).digest('base64url');
const view = createAnalyticsView({ pseudonymise });

describe('analytics view', () => {
  test('generalisations', () => {
    assert.equal(ageBand('1985-04-20', '2025-03-15'), '30-39');
    assert.equal(ageBand('1985-03-10', '2025-03-15'), '40-49');
    assert.equal(ageBand('2010-01-01', '2025-03-15'), '0-17');
    assert.equal(ageBand(null, '2025-03-15'), null);
    assert.equal(region({ country: 'DE', postalCode: '10115' }), 'DE-1');
    assert.equal(region({ country: 'GB', postalCode: 'SW1A 1AA' }), 'GB');
    assert.equal(tenureBand('2020-02-01', '2025-05-31'), '5-9');
  });
  test('pseudonymous, generalised customers and employees', () => {
    const store = project(view, history());
    assert.equal(get(store, A.customers, ids.anna), undefined);
    const anna = get(store, A.customers, pseudonymise(ids.anna))!;
    assert.equal(anna.region, 'DE-1');
    assert.equal(anna.ageBand, '30-39');
    assert.equal(anna.registeredMonth, '2025-03');
    assert.deepEqual(anna.consents, { 'marketing-email': true, 'phone-marketing': false });
    assert.equal(get(store, A.customers, pseudonymise(ids.carl))?.region, 'GB');
    const rita = get(store, A.employees, pseudonymise(ids.rep))!;
    assert.deepEqual([rita.tenureBand, rita.hiredMonth, rita.leftMonth, rita.status], ['5-9', '2025-03', '2025-05', 'left']);
    assert.equal(get(store, A.employees, pseudonymise(ids.rep2))?.department, 'Key accounts');
  });
  test('cases and deals, one pseudonymous document each', () => {
    const store = project(view, history());
    assert.deepEqual(get(store, A.cases, pseudonymise(ids.caseB)), {
      _id: pseudonymise(ids.caseB), _position: get(store, A.cases, pseudonymise(ids.caseB))?._position,
      customer: pseudonymise(ids.org), channel: 'phone', status: 'resolved', resolution: 'workaround', openedMonth: '2025-03', resolvedMonth: '2025-04',
    });
    assert.equal(get(store, A.cases, pseudonymise(ids.caseA))?.customer, get(store, A.customers, pseudonymise(ids.anna))?._id);
    const { _position, ...deal3 } = get(store, A.deals, pseudonymise(ids.deal3))!;
    assert.deepEqual(deal3, {
      _id: pseudonymise(ids.deal3), customer: pseudonymise(ids.carl), stage: 'proposal', status: 'won', currency: 'USD', amountMinor: 30000, lossReason: null, openedMonth: '2025-03', closedMonth: '2025-04',
    });
    assert.equal(get(store, A.deals, pseudonymise(ids.deal2))?.lossReason, 'price');
    assert.equal(get(store, A.deals, pseudonymise(ids.deal6))?.openedMonth, '2025-04');
  });
  test('the former monthly figures are aggregations over the documents', () => {
    const store = project(view, history());
    const run = (collection: string, pipeline: Pipeline) => evaluatePipeline(docs(store, collection), pipeline);
    assert.deepEqual(run(A.deals, [{ $match: { status: 'won', closedMonth: '2025-03' } }, { $group: { _id: '$currency', revenueMinor: { $sum: '$amountMinor' }, won: { $sum: 1 } } }]), [
      { _id: 'EUR', revenueMinor: 12000, won: 1 },
    ]);
    assert.deepEqual(run(A.deals, [{ $match: { status: 'lost', closedMonth: '2025-04' } }, { $group: { _id: '$lossReason', lost: { $sum: 1 } } }]), [{ _id: 'price', lost: 1 }]);
    assert.deepEqual(run(A.deals, [{ $match: { openedMonth: '2025-04' } }, { $count: 'opened' }]), [{ opened: 2 }]);
    assert.deepEqual(run(A.cases, [{ $match: { openedMonth: '2025-03' } }, { $group: { _id: '$channel', opened: { $sum: 1 } } }, { $sort: { _id: 1 } }]), [
      { _id: 'email', opened: 1 },
      { _id: 'phone', opened: 1 },
    ]);
    assert.deepEqual(run(A.customers, [{ $match: { registeredMonth: '2025-03' } }, { $count: 'registered' }]), [{ registered: 3 }]);
    assert.deepEqual(run(A.employees, [{ $match: { leftMonth: '2025-05' } }, { $count: 'leavers' }]), [{ leavers: 1 }]);
  });
  test('replaying an event changes nothing', () => {
    assert.deepEqual(projectTwice(view, history()), project(view, history()));
  });
  test('erased history: generalised fields null, facts intact', () => {
    const store = project(view, history(true));
    const anna = get(store, A.customers, pseudonymise(ids.anna))!;
    assert.equal(anna.ageBand, null);
    assert.equal(anna.region, null);
    assert.equal(anna.segment, 'consumer');
    assert.equal(get(store, A.deals, pseudonymise(ids.deal1))?.amountMinor, 12000);
    assert.equal(get(store, A.employees, pseudonymise(ids.rep))?.ageBand, null);
  });
  test('no subjectId, no personal field, no raw id anywhere; every field declared', () => {
    for (const erased of [false, true]) {
      const store = project(view, history(erased));
      assert.deepEqual(undeclaredFields(view, store), []);
      const text = JSON.stringify([...store]);
      for (const id of Object.values(ids)) assert.ok(!text.includes(id), `raw id ${id} leaked`);
      for (const doc of store.values()) assert.ok(!('subjectId' in doc));
    }
    for (const c of Object.values(view.collections)) {
      assert.ok(!('subjectId' in c.fields), c.name);
      for (const [f, p] of Object.entries(c.fields)) {
        assert.equal(p.personal, undefined, `${c.name}.${f}`);
        assert.ok(p.roles.every((r) => r === 'analyst'), `${c.name}.${f}`);
      }
    }
    const store = project(view, history());
    for (const personalValue of ['Anna A', 'anna@example.com', '1985-04-20', '10115', 'SW1A 1AA', 'Router broken', 'Called back', 'Rita Rep', 'resignation'])
      assert.ok(!JSON.stringify([...store]).includes(personalValue), personalValue);
  });
});
