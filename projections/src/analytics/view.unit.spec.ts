import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createAnalyticsView, ANALYTICS_COLLECTIONS as A } from './view.ts';
import { ageBand, region, tenureBand } from './generalise.ts';
import { history, ids } from '../fixtures.ts';
import { get, project, projectTwice, undeclaredFields } from '../testing.ts';

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
  test('pseudonymous, generalised customers and monthly aggregates', () => {
    const store = project(view, history());
    assert.equal(get(store, A.customers, ids.anna), undefined);
    const anna = get(store, A.customers, pseudonymise(ids.anna))!;
    assert.equal(anna.region, 'DE-1');
    assert.equal(anna.ageBand, '30-39');
    assert.deepEqual(anna.consents, { 'marketing-email': true, 'phone-marketing': false });
    const march = get(store, A.monthly, '2025-03')!;
    assert.equal(march.dealsWon, 1);
    assert.deepEqual(march.wonRevenueMinor, { EUR: 12000 });
    assert.deepEqual(get(store, A.monthly, '2025-04')?.dealsLost, { price: 1 });
    assert.equal(get(store, A.employees, pseudonymise(ids.rep))?.tenureBand, '5-9');
  });
  test('replaying an event changes nothing', () => {
    assert.deepEqual(projectTwice(view, history()), project(view, history()));
  });
  test('erased history: generalised fields null, aggregates intact', () => {
    const store = project(view, history(true));
    const anna = get(store, A.customers, pseudonymise(ids.anna))!;
    assert.equal(anna.ageBand, null);
    assert.equal(anna.region, null);
    assert.equal(anna.segment, 'consumer');
    assert.deepEqual(get(store, A.monthly, '2025-03')?.wonRevenueMinor, { EUR: 12000 });
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
    for (const personalValue of ['Anna A', 'anna@example.com', '1985-04-20', '10115', 'Router broken', 'Rita Rep'])
      assert.ok(!JSON.stringify([...store]).includes(personalValue), personalValue);
  });
});
