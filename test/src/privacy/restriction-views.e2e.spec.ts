/**
 * Restriction of processing (Art. 18) on the read side: a restricted customer stays stored
 * but leaves every processing view — pages, aggregations, the KPIs, the analytics view —
 * and comes back, unchanged, when the restriction is lifted.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Role } from '@crm/contracts';
import { seededCrmForSuite } from '../support/seeded-crm.ts';
import { hireEmployee, registerCustomer } from '../support/valid-commands.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('restriction takes the subject out of every view until lifted', { timeout: 120_000 }, () => {
  const seeded = seededCrmForSuite();

  test('restricted: absent from every view, aggregation and KPI; lifted: back as before', async () => {
    const { crm } = seeded;
    const get = async (path: string, roles: Role[], params: Record<string, unknown> = {}) => {
      const search = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
      const response = await fetch(`${crm.url}${path}?${search}`, { headers: { authorization: `Bearer ${await crm.token(roles)}` } });
      const body = (await response.json()) as Json;
      assert.equal(response.status, 200, JSON.stringify(body));
      return body;
    };
    const ok = async (type: string, body: Json, role: Role) => {
      const answer = await crm.command(type, body, [role]);
      assert.equal(answer.status, 200, `${type}: ${JSON.stringify(answer.body)}`);
      return answer.body;
    };
    const ownerId = String((await ok('HireEmployee', hireEmployee('Rowena'), 'hr')).subjectId);
    const customerId = String((await ok('RegisterCustomer', registerCustomer('Rhea', ownerId), 'sales-rep')).subjectId);
    await ok('GiveConsent', { customerId, purpose: 'marketing-email', legalBasis: 'consent', source: 'web-form', textVersion: '2026-01' }, 'sales-rep');
    const caseId = String((await ok('OpenServiceCase', { customerId, channel: 'email', summary: 'Rhea asks', assignedAgentId: ownerId }, 'service-agent')).caseId);
    const dealId = String((await ok('OpenDeal', { customerId, title: 'Rhea deal', amountMinor: 777_00, currency: 'EUR', ownerId }, 'sales-rep')).dealId);
    const last = await ok('WinDeal', { dealId }, 'sales-rep');

    /** Everything the views show of the customer, over every view. */
    const visible = async (minPosition: unknown) => {
      const ids = (body: Json) => (body.items as Json[]).map((i) => i._id);
      const analyticsCustomers = await get('/v1/views/analytics/customers', ['analyst'], { limit: 200, minPosition });
      const revenue = await get('/v1/views/sales/kpis', ['management'], { minPosition });
      return {
        service: ids(await get('/v1/views/service/customers', ['service-agent'], { filter: { _id: customerId }, minPosition })),
        cases: ids(await get('/v1/views/service/cases', ['service-agent'], { filter: { _id: caseId }, minPosition })),
        sales: ids(await get('/v1/views/sales/customers', ['sales-rep'], { filter: { _id: customerId }, minPosition })),
        deals: ids(await get('/v1/views/sales/deals', ['sales-rep'], { filter: { _id: dealId }, minPosition })),
        marketing: ids(await get('/v1/views/sales/marketing-lists', ['sales-rep'], { filter: { subjectId: customerId }, minPosition })),
        dealsByStatus: (await get('/v1/views/sales/deals', ['sales-rep'], { pipeline: [{ $match: { _id: dealId } }, { $count: 'n' }], minPosition })).results,
        revenue: (revenue.kpis.revenue as Json[]).reduce((sum, row) => sum + Number(row.revenueMinor), 0),
        analytics: analyticsCustomers.items.length as number,
      };
    };
    const before = await visible(last.position);
    assert.deepEqual(
      [before.service, before.cases, before.sales, before.deals, before.marketing.length, before.dealsByStatus],
      [[customerId], [caseId], [customerId], [dealId], 1, [{ n: 1 }]],
    );

    const restricted = await fetch(`${crm.url}/v1/privacy/requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await crm.token(['dpo'])}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'restriction', subjectId: customerId, reason: 'contests accuracy' }),
    });
    assert.equal(restricted.status, 201);
    const head = await crm.runtime.eventStore.headPosition();
    const during = await visible(head);
    assert.deepEqual([during.service, during.cases, during.sales, during.deals, during.marketing, during.dealsByStatus], [[], [], [], [], [], []]);
    assert.equal(during.revenue, before.revenue - 777_00, 'their won deal leaves the KPIs while restricted');
    assert.equal(during.analytics, before.analytics - 1, 'and the analytics view');

    const lifted = await fetch(`${crm.url}/v1/privacy/requests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await crm.token(['dpo'])}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'lift-restriction', subjectId: customerId, reason: 'accuracy confirmed' }),
    });
    assert.equal(lifted.status, 201);
    assert.deepEqual(await visible(await crm.runtime.eventStore.headPosition()), before, 'back as before');
  });
});
