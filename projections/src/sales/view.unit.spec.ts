import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { salesView, SALES_COLLECTIONS as S } from './view.ts';
import { DEAL_KPI_FIELDS } from './kpis.ts';
import { history, ids } from '../fixtures.ts';
import { docs, get, project, projectTwice, undeclaredFields } from '../testing.ts';

const kpiFieldsOf = (deal: Record<string, unknown> | undefined) => Object.fromEntries(DEAL_KPI_FIELDS.map((f) => [f, deal?.[f]]));

describe('sales view', () => {
  test('deals and marketing lists', () => {
    const store = project(salesView, history());
    assert.equal(get(store, S.deals, ids.deal1)?.status, 'won');
    assert.equal(get(store, S.deals, ids.deal1)?.stage, 'proposal');
    assert.equal(get(store, S.deals, ids.deal1)?.amountMinor, 12000);
    assert.equal(get(store, S.deals, ids.deal2)?.lossReason, 'price');
    assert.equal(get(store, S.deals, ids.deal4)?.stage, 'negotiation');
    // Anna and Carl: email consent stands; Anna's phone consent withdrawn. Bob objected; Dora gave none.
    assert.deepEqual(docs(store, S.marketingLists).map((d) => d._id).sort(), [`marketing-email:${ids.anna}`, `marketing-email:${ids.carl}`]);
  });
  test('each deal carries its KPI fields: open, won, lost', () => {
    const store = project(salesView, history());
    assert.deepEqual(kpiFieldsOf(get(store, S.deals, ids.deal4)), {
      closedMonth: null, won: 0, lost: 0, closed: 0, pipelineKey: 'negotiation|USD', revenueKey: null, winRateKey: null,
    });
    assert.deepEqual(kpiFieldsOf(get(store, S.deals, ids.deal1)), {
      closedMonth: '2025-03', won: 1, lost: 0, closed: 1, pipelineKey: null, revenueKey: `2025-03|${ids.rep}|EUR`, winRateKey: `2025-03|${ids.rep}`,
    });
    assert.deepEqual(kpiFieldsOf(get(store, S.deals, ids.deal2)), {
      closedMonth: '2025-04', won: 0, lost: 1, closed: 1, pipelineKey: null, revenueKey: null, winRateKey: `2025-04|${ids.rep}`,
    });
  });
  test('a stage move re-keys an open deal in the pipeline', () => {
    const events = history();
    const moved = events.findIndex((e) => e.type === 'DealStageMoved');
    assert.equal(get(project(salesView, events.slice(0, moved)), S.deals, ids.deal1)?.pipelineKey, 'qualification|EUR');
    assert.equal(get(project(salesView, events.slice(0, moved + 1)), S.deals, ids.deal1)?.pipelineKey, 'proposal|EUR');
  });
  test('replaying an event changes nothing', () => {
    assert.deepEqual(projectTwice(salesView, history()), project(salesView, history()));
  });
  test('erased history: personal fields null, a won deal still counts', () => {
    const store = project(salesView, history(true));
    assert.equal(get(store, S.customers, ids.anna)?.name, null);
    assert.equal(get(store, S.contacts, ids.bob)?.email, null);
    assert.equal(get(store, S.deals, ids.deal1)?.amountMinor, 12000);
    assert.equal(get(store, S.deals, ids.deal1)?.revenueKey, `2025-03|${ids.rep}|EUR`);
  });
  test('every field of every document is declared; KPI fields are for management only', () => {
    assert.deepEqual(undeclaredFields(salesView, project(salesView, history())), []);
    assert.deepEqual(Object.values(salesView.collections).map((c) => c.name).sort(), Object.values(S).sort());
    const deals = salesView.collections.deals!;
    for (const f of DEAL_KPI_FIELDS) assert.deepEqual(deals.fields[f]?.roles, ['management'], f);
    for (const f of ['_id', 'customerId', 'subjectId', 'title', 'amountMinor', 'currency', 'ownerId', 'stage', 'status', 'wonOn', 'lostOn', 'lossReason', 'openedAt'])
      assert.deepEqual(deals.fields[f]?.roles, ['sales-rep', 'management'], f);
  });
});
