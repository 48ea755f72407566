/**
 * Sales view: customers, organisations and their contacts; the deal pipeline by stage and
 * owner; marketing lists (one document per purpose and person, present only while consent
 * stands and no objection was made). Sales KPIs are not kept here: each deal carries the
 * fields they need, and `SALES_KPIS` (kpis.ts) computes them at query time for management.
 */
import { DIRECT_MARKETING_PURPOSES, type Role } from '@crm/contracts';
import type { Change, CollectionDefinition, FieldPolicy, KnownEvent, ProjectedEvent, ViewDefinition } from '../view.ts';
import { remove, update } from '../view.ts';
import { PEOPLE_EVENT_TYPES, peopleChanges, peopleCollections, personCollection } from '../shared/people.ts';
import { SALES_COLLECTIONS } from './collections.ts';
import { DEAL_KPI_FIELDS, dealKpiFields } from './kpis.ts';

export { SALES_COLLECTIONS } from './collections.ts';

const SALES: Role[] = ['sales-rep', 'management'];
const KPI: Role[] = ['management'];
const S = SALES_COLLECTIONS;

const people = peopleCollections(S, { full: SALES, minimal: [] });

const DEAL_FIELDS = ['_id', 'customerId', 'subjectId', 'title', 'amountMinor', 'currency', 'ownerId', 'stage', 'status', 'wonOn', 'lostOn', 'lossReason', 'openedAt'];

const deals: CollectionDefinition = {
  name: S.deals,
  fields: {
    ...Object.fromEntries(DEAL_FIELDS.map((f): [string, FieldPolicy] => [f, { roles: SALES }])),
    ...Object.fromEntries(DEAL_KPI_FIELDS.map((f): [string, FieldPolicy] => [f, { roles: KPI }])),
    _position: { roles: [] },
  },
  indexes: [
    { name: 'pipeline', keys: [['status', 1], ['stage', 1], ['ownerId', 1]] },
    { name: 'owner', keys: [['ownerId', 1], ['status', 1]] },
    { name: 'customer', keys: [['customerId', 1]] },
    { name: 'subject', keys: [['subjectId', 1]] },
    // The KPI pipelines (kpis.ts) each match on a flag, then group by a key; `closed_month` serves KPIs of one period.
    { name: 'kpi_pipeline', keys: [['status', 1], ['pipelineKey', 1]] },
    { name: 'kpi_revenue', keys: [['won', 1], ['revenueKey', 1]] },
    { name: 'kpi_win_rate', keys: [['closed', 1], ['winRateKey', 1]] },
    { name: 'closed_month', keys: [['closedMonth', 1], ['ownerId', 1]] },
  ],
  // A forgotten customer's or owner's deal still counts in the KPIs, without the link to the person.
  erasure: { links: ['subjectId', 'customerId', 'ownerId'], own: 'scrub', derive: (deal) => ({ ...deal, ...dealKpiFields(deal) }) },
};

const marketingLists: CollectionDefinition = {
  name: S.marketingLists,
  fields: {
    _id: { roles: SALES },
    _position: { roles: [] },
    purpose: { roles: SALES },
    subjectId: { roles: SALES },
    customerId: { roles: SALES },
    since: { roles: SALES },
  },
  indexes: [
    { name: 'purpose', keys: [['purpose', 1], ['since', 1]] },
    { name: 'subject', keys: [['subjectId', 1]] },
  ],
  erasure: { links: ['subjectId'], own: 'delete' },
};

const marketingId = (purpose: string, subjectId: string) => `${purpose}:${subjectId}`;
const isDirectMarketing = (purpose: string) => (DIRECT_MARKETING_PURPOSES as readonly string[]).includes(purpose);

/** A deal document with its KPI fields brought up to date with the rest of it. */
const withKpiFields = (deal: Record<string, unknown>): Record<string, unknown> => ({ ...deal, ...dealKpiFields(deal) });

export const salesView: ViewDefinition = {
  name: 'sales',
  version: 2, // 2: KPI counters replaced by KPI fields on each deal (the one-stream rule)
  purpose:
    'Sales: manage customer accounts and the deal pipeline, address only people who consented and did not object, and report sales KPIs to management.',
  collections: { customers: people.customers, contacts: people.contacts, deals, marketingLists },
  eventTypes: new Set([...PEOPLE_EVENT_TYPES, 'DealOpened', 'DealStageMoved', 'DealWon', 'DealLost']),
  evolve(event: ProjectedEvent): Change[] {
    const e = event as unknown as KnownEvent;
    const { globalPosition: pos, recordedAt } = event;
    switch (e.type) {
      case 'DealOpened': {
        const d = e.data;
        return [
          update(S.deals, d.dealId, pos, () =>
            withKpiFields({
              customerId: d.customerId,
              subjectId: d.subjectId ?? null,
              title: d.title,
              amountMinor: d.amountMinor,
              currency: d.currency,
              ownerId: d.ownerId,
              stage: d.stage,
              status: 'open',
              wonOn: null,
              lostOn: null,
              lossReason: null,
              openedAt: recordedAt,
            }),
          ),
        ];
      }
      case 'DealStageMoved':
        return [update(S.deals, e.data.dealId, pos, (current) => current && withKpiFields({ ...current, stage: e.data.to }))];
      case 'DealWon': {
        const d = e.data;
        return [
          update(S.deals, d.dealId, pos, (current) =>
            current && withKpiFields({ ...current, status: 'won', wonOn: d.wonOn, amountMinor: d.amountMinor, currency: d.currency }),
          ),
        ];
      }
      case 'DealLost': {
        const d = e.data;
        return [
          update(S.deals, d.dealId, pos, (current) => current && withKpiFields({ ...current, status: 'lost', lostOn: d.lostOn, lossReason: d.reason })),
        ];
      }
      case 'ConsentGiven': {
        const d = e.data;
        const changes: Change[] = peopleChanges(S, e, pos, recordedAt);
        if (isDirectMarketing(d.purpose))
          changes.push({
            lookup: { collection: personCollection(S, d.customerId, d.subjectId), id: d.subjectId },
            then: (person) =>
              !person || person.objectedToDirectMarketing === true
                ? []
                : [
                    update(S.marketingLists, marketingId(d.purpose, d.subjectId), pos, (current) => ({
                      purpose: d.purpose,
                      subjectId: d.subjectId,
                      customerId: d.customerId,
                      since: current?.since ?? recordedAt,
                    })),
                  ],
          });
        return changes;
      }
      case 'ConsentWithdrawn':
        return [...peopleChanges(S, e, pos, recordedAt), remove(S.marketingLists, marketingId(e.data.purpose, e.data.subjectId))];
      case 'DirectMarketingObjected':
      case 'ContactPersonRemoved':
        return [
          ...peopleChanges(S, e, pos, recordedAt),
          ...DIRECT_MARKETING_PURPOSES.map((p) => remove(S.marketingLists, marketingId(p, e.data.subjectId))),
        ];
      default:
        return peopleChanges(S, e, pos, recordedAt);
    }
  },
};
