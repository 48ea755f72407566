/**
 * Analytics view: no direct identifiers. Documents are keyed by a pseudonymous id derived
 * with a keyed HMAC that belongs to this view alone (so ids cannot be joined with other
 * views), hold only generalised attributes (region, age band, tenure band) and aggregates.
 * No subjectId and no personal field is ever stored here.
 */
import type { Role } from '@crm/contracts';
import type { Change, CollectionDefinition, KnownEvent, ProjectedEvent, ViewDefinition } from '../view.ts';
import { addTo, num, update } from '../view.ts';
import { ageBand, region, tenureBand } from './generalise.ts';

const ANALYST: Role[] = ['analyst'];

export const ANALYTICS_COLLECTIONS = {
  customers: 'analytics/customers',
  employees: 'analytics/employees',
  monthly: 'analytics/monthly',
} as const;
const A = ANALYTICS_COLLECTIONS;

const fields = (...names: string[]) =>
  Object.fromEntries([...names.map((n) => [n, { roles: ANALYST }] as const), ['_position', { roles: [] as Role[] }] as const]);

const customers: CollectionDefinition = {
  name: A.customers,
  fields: fields('_id', 'kind', 'segment', 'lifecycleStage', 'region', 'ageBand', 'consents', 'objectedToDirectMarketing', 'registeredMonth'),
  indexes: [
    { name: 'segment_stage', keys: [['segment', 1], ['lifecycleStage', 1]] },
    { name: 'region', keys: [['region', 1]] },
  ],
};
const employees: CollectionDefinition = {
  name: A.employees,
  fields: fields('_id', 'department', 'ageBand', 'startYear', 'status', 'tenureBand'),
  indexes: [{ name: 'department', keys: [['department', 1]] }],
};
const monthly: CollectionDefinition = {
  name: A.monthly,
  fields: fields('_id', 'month', 'customersRegistered', 'casesOpened', 'casesResolved', 'dealsOpened', 'dealsWon', 'wonRevenueMinor', 'dealsLost', 'hires', 'leavers'),
  indexes: [{ name: 'month', keys: [['month', 1]] }],
};

export interface AnalyticsOptions {
  /** A keyed HMAC (key of this view only) of a subject or aggregate id. Never the identity function. */
  pseudonymise(id: string): string;
}

export function createAnalyticsView({ pseudonymise }: AnalyticsOptions): ViewDefinition {
  const month = (pos: number, m: string, fn: (current: Record<string, unknown>) => Record<string, unknown>) =>
    update(A.monthly, m, pos, (current) => ({ month: m, ...fn(current ?? {}) }));
  const customer = (pos: number, customerId: string, fn: (current: Record<string, unknown>) => Record<string, unknown>) =>
    update(A.customers, pseudonymise(customerId), pos, (current) => current && fn(current));

  return {
    name: 'analytics',
    version: 1,
    purpose: 'Statistics on customers, service, sales and staff from pseudonymised, generalised data and aggregates (Art. 89 GDPR).',
    collections: { customers, employees, monthly },
    evolve(event: ProjectedEvent): Change[] {
      const e = event as unknown as KnownEvent;
      const { globalPosition: pos, recordedAt } = event;
      const thisMonth = recordedAt.slice(0, 7);
      const count = (field: string) => month(pos, thisMonth, (c) => ({ ...c, [field]: num(c[field]) + 1 }));
      switch (e.type) {
        case 'CustomerRegistered':
        case 'OrganisationRegistered': {
          const d = e.data;
          const person = e.type === 'CustomerRegistered';
          return [
            update(A.customers, pseudonymise(d.customerId), pos, () => ({
              kind: person ? 'person' : 'organisation',
              segment: d.segment,
              lifecycleStage: d.lifecycleStage,
              region: region(d.address),
              ageBand: e.type === 'CustomerRegistered' ? ageBand(e.data.dateOfBirth, recordedAt) : null,
              consents: {},
              objectedToDirectMarketing: false,
              registeredMonth: thisMonth,
            })),
            count('customersRegistered'),
          ];
        }
        case 'CustomerDetailsChanged': {
          const d = e.data;
          return [
            customer(pos, d.customerId, (c) => ({
              ...c,
              ...(d.address !== undefined ? { region: region(d.address) } : {}),
              ...(d.dateOfBirth !== undefined ? { ageBand: ageBand(d.dateOfBirth, recordedAt) } : {}),
            })),
          ];
        }
        case 'CustomerReclassified': {
          const d = e.data;
          return [
            customer(pos, d.customerId, (c) => ({
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
          return [customer(pos, d.customerId, (c) => ({ ...c, consents: { ...(c.consents as object), [d.purpose]: given } }))];
        }
        case 'DirectMarketingObjected': {
          const d = e.data;
          if (d.subjectId !== d.customerId) return [];
          return [
            customer(pos, d.customerId, (c) => ({
              ...c,
              objectedToDirectMarketing: true,
              consents: { ...(c.consents as object), 'marketing-email': false, 'phone-marketing': false },
            })),
          ];
        }
        case 'ServiceCaseOpened': {
          const channel = e.data.channel;
          return [month(pos, thisMonth, (c) => ({ ...c, casesOpened: addTo(c.casesOpened, channel, 1) }))];
        }
        case 'ServiceCaseResolved': {
          const resolution = e.data.resolution;
          return [month(pos, thisMonth, (c) => ({ ...c, casesResolved: addTo(c.casesResolved, resolution, 1) }))];
        }
        case 'DealOpened':
          return [count('dealsOpened')];
        case 'DealWon': {
          const d = e.data;
          return [
            month(pos, d.wonOn.slice(0, 7), (c) => ({ ...c, dealsWon: num(c.dealsWon) + 1, wonRevenueMinor: addTo(c.wonRevenueMinor, d.currency, d.amountMinor) })),
          ];
        }
        case 'DealLost': {
          const d = e.data;
          return [month(pos, d.lostOn.slice(0, 7), (c) => ({ ...c, dealsLost: addTo(c.dealsLost, d.reason, 1) }))];
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
            })),
            count('hires'),
          ];
        }
        case 'EmployeePositionChanged': {
          const d = e.data;
          if (d.department === undefined) return [];
          return [update(A.employees, pseudonymise(d.employeeId), pos, (c) => c && { ...c, department: d.department })];
        }
        case 'EmploymentEnded': {
          const d = e.data;
          return [
            update(A.employees, pseudonymise(d.employeeId), pos, (c) =>
              c && { ...c, status: 'left', tenureBand: tenureBand(`${String(c.startYear)}-01-01`, d.endDate) },
            ),
            month(pos, d.endDate.slice(0, 7), (c) => ({ ...c, leavers: num(c.leavers) + 1 })),
          ];
        }
        default:
          return [];
      }
    },
  };
}
