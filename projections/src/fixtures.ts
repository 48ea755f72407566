/** One shared history for the view tests, in its opened and its erased form. */
import type { ProjectedEvent } from './view.ts';
import { recorder } from './testing.ts';

export const ids = {
  anna: '0190a000-0000-7000-8000-000000000001',
  org: '0190a000-0000-7000-8000-000000000002',
  bob: '0190a000-0000-7000-8000-000000000003',
  caseA: '0190a000-0000-7000-8000-000000000010',
  noteA: '0190a000-0000-7000-8000-000000000011',
  deal1: '0190a000-0000-7000-8000-000000000020',
  deal2: '0190a000-0000-7000-8000-000000000021',
  rep: '0190a000-0000-7000-8000-000000000030',
  agent: '0190a000-0000-7000-8000-000000000031',
  absence: '0190a000-0000-7000-8000-000000000040',
};

const address = { street: 'Hauptstr. 1', postalCode: '10115', city: 'Berlin', country: 'DE' };

/** `erased`: the personal fields of Anna, Bob and the rep read null, as after crypto-shredding. */
export function history(erased = false): ProjectedEvent[] {
  const p = <T>(value: T): T | null => (erased ? null : value);
  const at = recorder();
  return [
    at('EmployeeHired', {
      employeeId: ids.rep, name: p('Rita Rep'), email: p('rita@corp.example'), phone: p('+49 30 1'), address: p(address),
      dateOfBirth: p('1990-06-01'), position: 'Account executive', department: 'Sales', salaryBand: p('B4'), startDate: '2020-02-01',
    }),
    at('CustomerRegistered', {
      customerId: ids.anna, name: p('Anna A'), email: p('anna@example.com'), phone: p('+49 170 1'), address: p(address),
      dateOfBirth: p('1985-04-20'), segment: 'consumer', lifecycleStage: 'lead', accountOwnerId: ids.rep,
    }),
    at('OrganisationRegistered', {
      customerId: ids.org, organisationName: 'ACME GmbH', address: { ...address, postalCode: '80331', city: 'München' },
      segment: 'enterprise', lifecycleStage: 'prospect',
      contacts: [{ subjectId: ids.bob, name: p('Bob B'), email: p('bob@acme.example'), phone: null, jobTitle: p('CTO') }],
    }),
    at('ConsentGiven', { customerId: ids.anna, subjectId: ids.anna, purpose: 'marketing-email', legalBasis: 'consent', source: 'web-form', textVersion: 't1' }),
    at('ConsentGiven', { customerId: ids.anna, subjectId: ids.anna, purpose: 'phone-marketing', legalBasis: 'consent', source: 'web-form', textVersion: 't1' }),
    at('ConsentGiven', { customerId: ids.org, subjectId: ids.bob, purpose: 'marketing-email', legalBasis: 'consent', source: 'email', textVersion: 't1' }),
    at('ConsentWithdrawn', { customerId: ids.anna, subjectId: ids.anna, purpose: 'phone-marketing', source: 'email' }),
    at('DirectMarketingObjected', { customerId: ids.org, subjectId: ids.bob, source: 'phone-call' }),
    at('CustomerDetailsChanged', { customerId: ids.anna, phone: p('+49 170 2') }),
    at('ServiceCaseOpened', { caseId: ids.caseA, customerId: ids.anna, subjectId: ids.anna, channel: 'email', summary: p('Router broken'), assignedAgentId: ids.agent }),
    at('CaseNoteAdded', { caseId: ids.caseA, noteId: ids.noteA, subjectId: ids.anna, text: p('Called back'), authorAgentId: ids.agent }),
    at('ServiceCaseResolved', { caseId: ids.caseA, resolution: 'solved' }),
    at('DealOpened', { dealId: ids.deal1, customerId: ids.anna, subjectId: ids.anna, title: 'Router upgrade', amountMinor: 10000, currency: 'EUR', ownerId: ids.rep, stage: 'qualification' }),
    at('DealOpened', { dealId: ids.deal2, customerId: ids.org, title: 'Fleet', amountMinor: 500000, currency: 'EUR', ownerId: ids.rep, stage: 'qualification' }),
    at('DealStageMoved', { dealId: ids.deal1, from: 'qualification', to: 'proposal' }),
    at('DealWon', { dealId: ids.deal1, amountMinor: 12000, currency: 'EUR', wonOn: '2025-03-20' }),
    at('DealLost', { dealId: ids.deal2, reason: 'price', lostOn: '2025-04-02' }),
    at('AbsenceRecorded', { employeeId: ids.rep, absenceId: ids.absence, kind: p('sick-leave'), from: '2025-03-01', to: '2025-03-03' }),
    at('EmploymentEnded', { employeeId: ids.rep, endDate: '2025-05-31', reason: p('resignation') }),
  ];
}
