/**
 * Analytics view: no direct identifiers. One document per customer, employee, service case
 * and deal, keyed by a pseudonymous id derived with a keyed HMAC that belongs to this view
 * alone (so ids cannot be joined with other views), holding only generalised attributes
 * (region, age band, tenure band, months rather than dates). No subjectId and no personal
 * field is ever stored here; a reference to another entity is its pseudonym too.
 *
 * Figures over many entities (customers registered, cases opened per channel, revenue won
 * per month, hires and leavers…) are not kept as counters: a counter would be written by
 * many streams, which the per-document `_position` guard cannot order (the one-stream rule,
 * see ../view.ts). Analysts get them with aggregation pipelines over these documents, e.g.
 * `[{ $match: { closedMonth: '2025-03', status: 'won' } }, { $group: { _id: '$currency', revenueMinor: { $sum: '$amountMinor' } } }]`
 * on `analytics/deals`.
 */
import type { Role } from '@crm/contracts';
import type { Change, CollectionDefinition, FieldPolicy, KnownEvent, ProjectedEvent, ViewDefinition } from '../view.ts';
import { monthOf, update } from '../view.ts';
import { ageBand, region, tenureBand } from './generalise.ts';

const ANALYST: Role[] = ['analyst'];

export const ANALYTICS_COLLECTIONS = {
  customers: 'analytics/customers',
  employees: 'analytics/employees',
  cases: 'analytics/cases',
  deals: 'analytics/deals',
} as const;
const A = ANALYTICS_COLLECTIONS;

const fields = (...names: string[]): Record<string, FieldPolicy> => ({
  ...Object.fromEntries(names.map((n): [string, FieldPolicy] => [n, { roles: ANALYST }])),
  _position: { roles: [] },
});

const customers: CollectionDefinition = {
  name: A.customers,
  fields: fields('_id', 'kind', 'segment', 'lifecycleStage', 'region', 'ageBand', 'consents', 'objectedToDirectMarketing', 'registeredMonth'),
  pseudonymousLinks: ['_id'],
  indexes: [
    { name: 'segment_stage', keys: [['segment', 1], ['lifecycleStage', 1]] },
    { name: 'region', keys: [['region', 1]] },
    { name: 'registered', keys: [['registeredMonth', 1]] },
  ],
};

/** `hiredMonth`: the month the hire was recorded; `leftMonth`: the month employment ended. */
const employees: CollectionDefinition = {
  name: A.employees,
  fields: fields('_id', 'department', 'ageBand', 'startYear', 'status', 'tenureBand', 'hiredMonth', 'leftMonth'),
  pseudonymousLinks: ['_id'],
  indexes: [
    { name: 'department', keys: [['department', 1]] },
    { name: 'hired', keys: [['hiredMonth', 1]] },
    { name: 'left', keys: [['leftMonth', 1]] },
  ],
};

/** `customer`: the pseudonym of the customer (the `_id` of its `analytics/customers` document). */
const cases: CollectionDefinition = {
  name: A.cases,
  fields: fields('_id', 'customer', 'channel', 'status', 'resolution', 'openedMonth', 'resolvedMonth'),
  pseudonymousLinks: ['customer'],
  indexes: [
    { name: 'opened', keys: [['openedMonth', 1], ['channel', 1]] },
    { name: 'resolved', keys: [['resolvedMonth', 1], ['resolution', 1]] },
    { name: 'customer', keys: [['customer', 1]] },
  ],
};

/**
 * No owner: the owner is an employee, and a pseudonym linking deals to `analytics/employees`
 * would let department, age band and sales record be combined to single a person out.
 */
const deals: CollectionDefinition = {
  name: A.deals,
  // `customer`: internal (no role reads it): only so that a restricted customer's deals leave the view (Art. 18).
  fields: { ...fields('_id', 'stage', 'status', 'currency', 'amountMinor', 'lossReason', 'openedMonth', 'closedMonth'), customer: { roles: [] } },
  pseudonymousLinks: ['customer'],
  indexes: [
    { name: 'opened', keys: [['openedMonth', 1]] },
    { name: 'closed', keys: [['closedMonth', 1], ['status', 1]] },
    { name: 'status_stage', keys: [['status', 1], ['stage', 1]] },
  ],
};

export interface AnalyticsOptions {
  /** A keyed HMAC (key of this view only) of a subject or aggregate id. Never the identity function. */
  pseudonymise(id: string): string;
}

export function createAnalyticsView({ pseudonymise }: AnalyticsOptions): ViewDefinition {
  /** Changes an existing document of the entity `id`; documents never seen stay missing. */
  const change = (collection: string, id: string, pos: number, fn: (current: Record<string, unknown>) => Record<string, unknown>) =>
    update(collection, pseudonymise(id), pos, (current) => current && fn(current));

  return {
    name: 'analytics',
    version: 2, // 2: the monthly counters replaced by per-case and per-deal documents (the one-stream rule)
    purpose: 'Statistics on customers, service, sales and staff from pseudonymised, generalised data (Art. 89 GDPR).',
    collections: { customers, employees, cases, deals },
    pseudonymise,
    eventTypes: new Set([
      'CustomerRegistered', 'OrganisationRegistered', 'CustomerDetailsChanged', 'CustomerReclassified', 'ConsentGiven', 'ConsentWithdrawn', 'DirectMarketingObjected',
      'ServiceCaseOpened', 'ServiceCaseResolved', 'ServiceCaseReopened', 'DealOpened', 'DealStageMoved', 'DealWon', 'DealLost',
      'EmployeeHired', 'EmployeePositionChanged', 'EmploymentEnded',
    ]),
    evolve(event: ProjectedEvent): Change[] {
      const e = event as unknown as KnownEvent;
      const { globalPosition: pos, recordedAt } = event;
      switch (e.type) {
        case 'CustomerRegistered':
        case 'OrganisationRegistered': {
          const d = e.data;
          return [
            update(A.customers, pseudonymise(d.customerId), pos, () => ({
              kind: e.type === 'CustomerRegistered' ? 'person' : 'organisation',
              segment: d.segment,
              lifecycleStage: d.lifecycleStage,
              region: region(d.address),
              ageBand: e.type === 'CustomerRegistered' ? ageBand(e.data.dateOfBirth, recordedAt) : null,
              consents: {},
              objectedToDirectMarketing: false,
              registeredMonth: monthOf(recordedAt),
            })),
          ];
        }
        case 'CustomerDetailsChanged': {
          const d = e.data;
          return [
            change(A.customers, d.customerId, pos, (c) => ({
              ...c,
              ...(d.address !== undefined ? { region: region(d.address) } : {}),
              ...(d.dateOfBirth !== undefined ? { ageBand: ageBand(d.dateOfBirth, recordedAt) } : {}),
            })),
          ];
        }
        case 'CustomerReclassified': {
          const d = e.data;
          return [
            change(A.customers, d.customerId, pos, (c) => ({
              ...c,
              ...(d.segment !== undefined ? { segment: d.segment } : {}),
              ...(d.lifecycleStage !== undefined ? { lifecycleStage: d.lifecycleStage } : {}),
            })),
          ];
        }
        case 'ConsentGiven':
        case 'ConsentWithdrawn': {
          const d = e.data;
          if (d.subjectId !== d.customerId) return []; // contact persons are not analysed
          const given = e.type === 'ConsentGiven';
          return [change(A.customers, d.customerId, pos, (c) => ({ ...c, consents: { ...(c.consents as object), [d.purpose]: given } }))];
        }
        case 'DirectMarketingObjected': {
          const d = e.data;
          if (d.subjectId !== d.customerId) return [];
          return [
            change(A.customers, d.customerId, pos, (c) => ({
              ...c,
              objectedToDirectMarketing: true,
              consents: { ...(c.consents as object), 'marketing-email': false, 'phone-marketing': false },
            })),
          ];
        }
        case 'ServiceCaseOpened': {
          const d = e.data;
          return [
            update(A.cases, pseudonymise(d.caseId), pos, () => ({
              customer: pseudonymise(d.customerId),
              channel: d.channel,
              status: 'open',
              resolution: null,
              openedMonth: monthOf(recordedAt),
              resolvedMonth: null,
            })),
          ];
        }
        case 'ServiceCaseResolved': {
          const d = e.data;
          return [change(A.cases, d.caseId, pos, (c) => ({ ...c, status: 'resolved', resolution: d.resolution, resolvedMonth: monthOf(recordedAt) }))];
        }
        case 'ServiceCaseReopened':
          return [change(A.cases, e.data.caseId, pos, (c) => ({ ...c, status: 'open', resolution: null, resolvedMonth: null }))];
        case 'DealOpened': {
          const d = e.data;
          return [
            update(A.deals, pseudonymise(d.dealId), pos, () => ({
              customer: pseudonymise(d.customerId),
              stage: d.stage,
              status: 'open',
              currency: d.currency,
              amountMinor: d.amountMinor,
              lossReason: null,
              openedMonth: monthOf(recordedAt),
              closedMonth: null,
            })),
          ];
        }
        case 'DealStageMoved':
          return [change(A.deals, e.data.dealId, pos, (c) => ({ ...c, stage: e.data.to }))];
        case 'DealWon': {
          const d = e.data;
          return [change(A.deals, d.dealId, pos, (c) => ({ ...c, status: 'won', currency: d.currency, amountMinor: d.amountMinor, closedMonth: monthOf(d.wonOn) }))];
        }
        case 'DealLost': {
          const d = e.data;
          return [change(A.deals, d.dealId, pos, (c) => ({ ...c, status: 'lost', lossReason: d.reason, closedMonth: monthOf(d.lostOn) }))];
        }
        case 'EmployeeHired': {
          const d = e.data;
          return [
            update(A.employees, pseudonymise(d.employeeId), pos, () => ({
              department: d.department,
              ageBand: ageBand(d.dateOfBirth, d.startDate),
              startYear: d.startDate.slice(0, 4),
              status: 'employed',
              tenureBand: null,
              hiredMonth: monthOf(recordedAt),
              leftMonth: null,
            })),
          ];
        }
        case 'EmployeePositionChanged': {
          const d = e.data;
          if (d.department === undefined) return [];
          return [change(A.employees, d.employeeId, pos, (c) => ({ ...c, department: d.department }))];
        }
        case 'EmploymentEnded': {
          const d = e.data;
          return [
            change(A.employees, d.employeeId, pos, (c) => ({
              ...c,
              status: 'left',
              tenureBand: tenureBand(`${String(c.startYear)}-01-01`, d.endDate),
              leftMonth: monthOf(d.endDate),
            })),
          ];
        }
        default:
          return [];
      }
    },
  };
}
