import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { salesView, SALES_COLLECTIONS as S, winRate } from './view.ts';
import { history, ids } from '../fixtures.ts';
import { docs, get, project, projectTwice, undeclaredFields } from '../testing.ts';

describe('sales view', () => {
  test('deals, marketing lists and KPIs', () => {
    const store = project(salesView, history());
    assert.equal(get(store, S.deals, ids.deal1)?.status, 'won');
    assert.equal(get(store, S.deals, ids.deal1)?.stage, 'proposal');
    assert.equal(get(store, S.deals, ids.deal2)?.lossReason, 'price');
    // Anna: email consent stands; phone withdrawn. Bob objected.
    assert.deepEqual(docs(store, S.marketingLists).map((d) => d._id), [`marketing-email:${ids.anna}`]);
    const march = get(store, S.kpiRevenue, `${ids.rep}:2025-03`)!;
    assert.deepEqual({ won: march.won, lost: march.lost, revenueMinor: march.revenueMinor }, { won: 1, lost: 0, revenueMinor: { EUR: 12000 } });
    const april = get(store, S.kpiRevenue, `${ids.rep}:2025-04`)!;
    assert.equal(april.lost, 1);
    assert.equal(winRate(march), 1);
    for (const stage of ['qualification', 'proposal']) {
      const p = get(store, S.kpiPipeline, stage)!;
      assert.equal(p.count, 0, stage);
      assert.deepEqual(p.valueMinor, {}, stage);
    }
  });
  test('an open deal counts in the pipeline at its stage', () => {
    const events = history().slice(0, 15); // up to the stage move
    const store = project(salesView, events);
    assert.deepEqual(get(store, S.kpiPipeline, 'proposal')?.valueMinor, { EUR: 10000 });
    assert.deepEqual(get(store, S.kpiPipeline, 'qualification')?.valueMinor, { EUR: 500000 });
  });
  test('replaying an event changes nothing', () => {
    assert.deepEqual(projectTwice(salesView, history()), project(salesView, history()));
  });
  test('erased history: personal fields null, a won deal still counts', () => {
    const store = project(salesView, history(true));
    assert.equal(get(store, S.customers, ids.anna)?.name, null);
    assert.equal(get(store, S.contacts, ids.bob)?.email, null);
    assert.deepEqual(get(store, S.kpiRevenue, `${ids.rep}:2025-03`)?.revenueMinor, { EUR: 12000 });
    assert.equal(get(store, S.deals, ids.deal1)?.amountMinor, 12000);
  });
  test('every field of every document is declared; KPIs are for management only', () => {
    assert.deepEqual(undeclaredFields(salesView, project(salesView, history())), []);
    for (const c of [salesView.collections.kpiRevenue!, salesView.collections.kpiPipeline!])
      for (const [f, p] of Object.entries(c.fields)) assert.ok(p.roles.every((r) => r === 'management'), `${c.name}.${f}`);
  });
});
