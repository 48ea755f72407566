/**
 * Sales view: customers, organisations and their contacts; the deal pipeline by stage and
 * owner; marketing lists (one document per purpose and person, present only while consent
 * stands and no objection was made); and KPIs, which only management reads.
 */
import { DIRECT_MARKETING_PURPOSES, type Role } from '@crm/contracts';
import type { Change, CollectionDefinition, DocumentChange, KnownEvent, ProjectedEvent, ViewDefinition } from '../view.ts';
import { addTo, num, remove, str, update } from '../view.ts';
import { peopleChanges, peopleCollections, personCollection } from '../shared/people.ts';

const SALES: Role[] = ['sales-rep', 'management'];
const KPI: Role[] = ['management'];

export const SALES_COLLECTIONS = {
  customers: 'sales/customers',
  contacts: 'sales/contacts',
  deals: 'sales/deals',
  marketingLists: 'sales/marketing-lists',
  kpiRevenue: 'sales/kpi-revenue',
  kpiPipeline: 'sales/kpi-pipeline',
} as const;
const S = SALES_COLLECTIONS;

const people = peopleCollections(S, { full: SALES, minimal: [] });

const deals: CollectionDefinition = {
  name: S.deals,
  fields: Object.fromEntries(
    ['_id', 'customerId', 'subjectId', 'title', 'amountMinor', 'currency', 'ownerId', 'stage', 'status', 'wonOn', 'lostOn', 'lossReason', 'openedAt']
      .map((f) => [f, { roles: SALES }] as const)
      .concat([['_position', { roles: [] }]]),
  ),
  indexes: [
    { name: 'pipeline', keys: [['status', 1], ['stage', 1], ['ownerId', 1]] },
    { name: 'owner', keys: [['ownerId', 1], ['status', 1]] },
    { name: 'customer', keys: [['customerId', 1]] },
    { name: 'subject', keys: [['subjectId', 1]] },
  ],
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
};

const kpiRevenue: CollectionDefinition = {
  name: S.kpiRevenue,
  fields: {
    _id: { roles: KPI },
    _position: { roles: [] },
    subjectId: { roles: KPI },
    ownerId: { roles: KPI },
    month: { roles: KPI },
    won: { roles: KPI },
    lost: { roles: KPI },
    revenueMinor: { roles: KPI },
  },
  indexes: [
    { name: 'month_owner', keys: [['month', 1], ['ownerId', 1]] },
    { name: 'subject', keys: [['subjectId', 1]] },
  ],
};

const kpiPipeline: CollectionDefinition = {
  name: S.kpiPipeline,
  fields: {
    _id: { roles: KPI },
    _position: { roles: [] },
    stage: { roles: KPI },
    count: { roles: KPI },
    valueMinor: { roles: KPI },
  },
  indexes: [],
};

const marketingId = (purpose: string, subjectId: string) => `${purpose}:${subjectId}`;
const isDirectMarketing = (purpose: string) => (DIRECT_MARKETING_PURPOSES as readonly string[]).includes(purpose);

/** Win rate of a month's KPI document: won / (won + lost), or null without closed deals. */
export function winRate(kpi: Record<string, unknown>): number | null {
  const won = num(kpi.won);
  const closed = won + num(kpi.lost);
  return closed === 0 ? null : won / closed;
}

function pipelineDelta(stage: string, currency: string, amount: number, count: number, pos: number): DocumentChange {
  return update(S.kpiPipeline, stage, pos, (current) => ({
    stage,
    count: num(current?.count) + count,
    valueMinor: addTo(current?.valueMinor, currency, amount),
  }));
}

function closed(dealId: string, pos: number, month: string, outcome: 'won' | 'lost', revenue?: { currency: string; amountMinor: number }): Change {
  return {
    lookup: { collection: S.deals, id: dealId },
    // Reads only what no later event changes (owner, stage of an open deal, amount), so a retry after a partial apply is still right.
    then(deal) {
      const ownerId = str(deal?.ownerId);
      const stage = str(deal?.stage);
      const currency = str(deal?.currency);
      if (!deal || !ownerId || !stage || !currency) return [];
      return [
        pipelineDelta(stage, currency, -num(deal.amountMinor), -1, pos),
        update(S.kpiRevenue, `${ownerId}:${month}`, pos, (current) => ({
          subjectId: ownerId,
          ownerId,
          month,
          won: num(current?.won) + (outcome === 'won' ? 1 : 0),
          lost: num(current?.lost) + (outcome === 'lost' ? 1 : 0),
          revenueMinor: revenue ? addTo(current?.revenueMinor, revenue.currency, revenue.amountMinor) : (current?.revenueMinor ?? {}),
        })),
      ];
    },
  };
}

export const salesView: ViewDefinition = {
  name: 'sales',
  version: 1,
  purpose:
    'Sales: manage customer accounts and the deal pipeline, address only people who consented and did not object, and report sales KPIs to management.',
  collections: { customers: people.customers, contacts: people.contacts, deals, marketingLists, kpiRevenue, kpiPipeline },
  evolve(event: ProjectedEvent): Change[] {
    const e = event as unknown as KnownEvent;
    const { globalPosition: pos, recordedAt } = event;
    switch (e.type) {
      case 'DealOpened': {
        const d = e.data;
        return [
          update(S.deals, d.dealId, pos, () => ({
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
          })),
          pipelineDelta(d.stage, d.currency, d.amountMinor, 1, pos),
        ];
      }
      case 'DealStageMoved': {
        const d = e.data;
        return [
          update(S.deals, d.dealId, pos, (current) => current && { ...current, stage: d.to }),
          {
            lookup: { collection: S.deals, id: d.dealId },
            then(deal) {
              const currency = str(deal?.currency);
              if (!deal || !currency) return [];
              const amount = num(deal.amountMinor);
              return [pipelineDelta(d.from, currency, -amount, -1, pos), pipelineDelta(d.to, currency, amount, 1, pos)];
            },
          },
        ];
      }
      case 'DealWon': {
        const d = e.data;
        return [
          update(S.deals, d.dealId, pos, (current) => current && { ...current, status: 'won', wonOn: d.wonOn, amountMinor: d.amountMinor, currency: d.currency }),
          closed(d.dealId, pos, d.wonOn.slice(0, 7), 'won', { currency: d.currency, amountMinor: d.amountMinor }),
        ];
      }
      case 'DealLost': {
        const d = e.data;
        return [
          update(S.deals, d.dealId, pos, (current) => current && { ...current, status: 'lost', lostOn: d.lostOn, lossReason: d.reason }),
          closed(d.dealId, pos, d.lostOn.slice(0, 7), 'lost'),
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
