/**
 * One shared history for the view tests, in its opened and its erased form. Several streams
 * interleave, as on the bus: three employees, two person customers, an organisation with two
 * contact persons, two service cases with notes, and seven deals of two owners, won and lost
 * in March and April, in EUR and USD, some still open.
 */
import { customerStream, dealStream, employeeStream, serviceCaseStream } from '@crm/domain';
import type { StreamEvent } from './testing.ts';
import { recorder } from './testing.ts';

export const ids = {
  anna: '0190a000-0000-7000-8000-000000000001',
  org: '0190a000-0000-7000-8000-000000000002',
  bob: '0190a000-0000-7000-8000-000000000003',
  carl: '0190a000-0000-7000-8000-000000000004',
  dora: '0190a000-0000-7000-8000-000000000005',
  caseA: '0190a000-0000-7000-8000-000000000010',
  noteA: '0190a000-0000-7000-8000-000000000011',
  caseB: '0190a000-0000-7000-8000-000000000012',
  noteB1: '0190a000-0000-7000-8000-000000000013',
  noteB2: '0190a000-0000-7000-8000-000000000014',
  deal1: '0190a000-0000-7000-8000-000000000020',
  deal2: '0190a000-0000-7000-8000-000000000021',
  deal3: '0190a000-0000-7000-8000-000000000022',
  deal4: '0190a000-0000-7000-8000-000000000023',
  deal5: '0190a000-0000-7000-8000-000000000024',
  deal6: '0190a000-0000-7000-8000-000000000025',
  deal7: '0190a000-0000-7000-8000-000000000026',
  rep: '0190a000-0000-7000-8000-000000000030',
  agent: '0190a000-0000-7000-8000-000000000031',
  rep2: '0190a000-0000-7000-8000-000000000032',
  absence: '0190a000-0000-7000-8000-000000000040',
};

const address = { street: 'Hauptstr. 1', postalCode: '10115', city: 'Berlin', country: 'DE' };
const april = '2025-04-05T09:00:00.000Z';

/** `erased`: every personal field reads null, as after crypto-shredding all the people in it. */
export function history(erased = false): StreamEvent[] {
  const p = <T>(value: T): T | null => (erased ? null : value);
  const at = recorder();
  const employee = employeeStream;
  const customer = customerStream;
  const kase = serviceCaseStream;
  const deal = dealStream;
  return [
    at(employee(ids.rep), 'EmployeeHired', {
      employeeId: ids.rep, name: p('Rita Rep'), email: p('rita@corp.example'), phone: p('+49 30 1'), address: p(address),
      dateOfBirth: p('1990-06-01'), position: 'Account executive', department: 'Sales', salaryBand: p('B4'), startDate: '2020-02-01',
    }),
    at(employee(ids.rep2), 'EmployeeHired', {
      employeeId: ids.rep2, name: p('Sam Seller'), email: p('sam@corp.example'), address: p(address),
      dateOfBirth: p('1978-11-02'), position: 'Account executive', department: 'Sales', salaryBand: p('B5'), startDate: '2018-09-01',
    }),
    at(employee(ids.agent), 'EmployeeHired', {
      employeeId: ids.agent, name: p('Alex Agent'), dateOfBirth: p('2000-01-15'), position: 'Service agent', department: 'Service',
      salaryBand: p('B2'), startDate: '2024-01-08',
    }),
    at(customer(ids.anna), 'CustomerRegistered', {
      customerId: ids.anna, name: p('Anna A'), email: p('anna@example.com'), phone: p('+49 170 1'), address: p(address),
      dateOfBirth: p('1985-04-20'), segment: 'consumer', lifecycleStage: 'lead', accountOwnerId: ids.rep,
    }),
    at(customer(ids.org), 'OrganisationRegistered', {
      customerId: ids.org, organisationName: 'ACME GmbH', address: { ...address, postalCode: '80331', city: 'München' },
      segment: 'enterprise', lifecycleStage: 'prospect',
      contacts: [{ subjectId: ids.bob, name: p('Bob B'), email: p('bob@acme.example'), phone: null, jobTitle: p('CTO') }],
    }),
    at(customer(ids.carl), 'CustomerRegistered', {
      customerId: ids.carl, name: p('Carl C'), email: p('carl@example.co.uk'), phone: p('+44 20 7946 0000'),
      address: p({ street: '1 High St', postalCode: 'SW1A 1AA', city: 'London', country: 'GB' }),
      dateOfBirth: p('1958-07-07'), segment: 'small-business', lifecycleStage: 'customer', accountOwnerId: ids.rep2,
    }),
    at(customer(ids.org), 'ContactPersonAdded', {
      customerId: ids.org,
      contact: { subjectId: ids.dora, name: p('Dora D'), email: p('dora@acme.example'), phone: p('+49 89 123'), jobTitle: p('CFO') },
    }),
    at(customer(ids.anna), 'ConsentGiven', { customerId: ids.anna, subjectId: ids.anna, purpose: 'marketing-email', legalBasis: 'consent', source: 'web-form', textVersion: 't1' }),
    at(customer(ids.anna), 'ConsentGiven', { customerId: ids.anna, subjectId: ids.anna, purpose: 'phone-marketing', legalBasis: 'consent', source: 'web-form', textVersion: 't1' }),
    at(customer(ids.org), 'ConsentGiven', { customerId: ids.org, subjectId: ids.bob, purpose: 'marketing-email', legalBasis: 'consent', source: 'email', textVersion: 't1' }),
    at(customer(ids.carl), 'ConsentGiven', { customerId: ids.carl, subjectId: ids.carl, purpose: 'marketing-email', legalBasis: 'consent', source: 'email', textVersion: 't1' }),
    at(customer(ids.anna), 'ConsentWithdrawn', { customerId: ids.anna, subjectId: ids.anna, purpose: 'phone-marketing', source: 'email' }),
    at(customer(ids.org), 'DirectMarketingObjected', { customerId: ids.org, subjectId: ids.bob, source: 'phone-call' }),
    at(customer(ids.anna), 'CustomerDetailsChanged', { customerId: ids.anna, phone: p('+49 170 2') }),
    at(kase(ids.caseA), 'ServiceCaseOpened', { caseId: ids.caseA, customerId: ids.anna, subjectId: ids.anna, channel: 'email', summary: p('Router broken'), assignedAgentId: ids.agent }),
    at(kase(ids.caseA), 'CaseNoteAdded', { caseId: ids.caseA, noteId: ids.noteA, subjectId: ids.anna, text: p('Called back'), authorAgentId: ids.agent }),
    at(kase(ids.caseB), 'ServiceCaseOpened', { caseId: ids.caseB, customerId: ids.org, subjectId: ids.bob, channel: 'phone', summary: p('Invoice wrong') }),
    at(kase(ids.caseB), 'CaseNoteAdded', { caseId: ids.caseB, noteId: ids.noteB1, subjectId: ids.bob, text: p('Asked for a copy'), authorAgentId: ids.agent }),
    at(kase(ids.caseA), 'ServiceCaseResolved', { caseId: ids.caseA, resolution: 'solved' }),
    at(deal(ids.deal1), 'DealOpened', { dealId: ids.deal1, customerId: ids.anna, subjectId: ids.anna, title: 'Router upgrade', amountMinor: 10000, currency: 'EUR', ownerId: ids.rep, stage: 'qualification' }),
    at(deal(ids.deal2), 'DealOpened', { dealId: ids.deal2, customerId: ids.org, title: 'Fleet', amountMinor: 500000, currency: 'EUR', ownerId: ids.rep, stage: 'qualification' }),
    at(deal(ids.deal3), 'DealOpened', { dealId: ids.deal3, customerId: ids.carl, subjectId: ids.carl, title: 'Shop fit-out', amountMinor: 30000, currency: 'USD', ownerId: ids.rep2, stage: 'proposal' }),
    at(deal(ids.deal4), 'DealOpened', { dealId: ids.deal4, customerId: ids.org, title: 'Cloud migration', amountMinor: 70000, currency: 'USD', ownerId: ids.rep2, stage: 'qualification' }),
    at(deal(ids.deal5), 'DealOpened', { dealId: ids.deal5, customerId: ids.anna, subjectId: ids.anna, title: 'Mesh Wi-Fi', amountMinor: 8000, currency: 'EUR', ownerId: ids.rep, stage: 'qualification' }),
    at(deal(ids.deal1), 'DealStageMoved', { dealId: ids.deal1, from: 'qualification', to: 'proposal' }),
    at(deal(ids.deal1), 'DealWon', { dealId: ids.deal1, amountMinor: 12000, currency: 'EUR', wonOn: '2025-03-20' }),
    at(deal(ids.deal5), 'DealLost', { dealId: ids.deal5, reason: 'competitor', lostOn: '2025-03-28' }),
    at(employee(ids.rep), 'AbsenceRecorded', { employeeId: ids.rep, absenceId: ids.absence, kind: p('sick-leave'), from: '2025-03-01', to: '2025-03-03' }),
    at(deal(ids.deal2), 'DealLost', { dealId: ids.deal2, reason: 'price', lostOn: '2025-04-02' }, april),
    at(deal(ids.deal4), 'DealStageMoved', { dealId: ids.deal4, from: 'qualification', to: 'negotiation' }, april),
    at(deal(ids.deal3), 'DealWon', { dealId: ids.deal3, amountMinor: 30000, currency: 'USD', wonOn: '2025-04-10' }, april),
    at(deal(ids.deal6), 'DealOpened', { dealId: ids.deal6, customerId: ids.carl, subjectId: ids.carl, title: 'Tills', amountMinor: 2500, currency: 'EUR', ownerId: ids.rep2, stage: 'qualification' }, april),
    at(deal(ids.deal7), 'DealOpened', { dealId: ids.deal7, customerId: ids.org, title: 'Support plan', amountMinor: 4000, currency: 'EUR', ownerId: ids.rep, stage: 'qualification' }, april),
    at(kase(ids.caseB), 'CaseNoteAdded', { caseId: ids.caseB, noteId: ids.noteB2, subjectId: ids.bob, text: p('Sent the copy'), authorAgentId: ids.agent }, april),
    at(kase(ids.caseB), 'ServiceCaseResolved', { caseId: ids.caseB, resolution: 'workaround' }, april),
    at(employee(ids.rep2), 'EmployeePositionChanged', { employeeId: ids.rep2, position: 'Key account manager', department: 'Key accounts', salaryBand: p('B6'), effectiveDate: '2025-04-01' }, april),
    at(employee(ids.rep), 'EmploymentEnded', { employeeId: ids.rep, endDate: '2025-05-31', reason: p('resignation') }, april),
  ];
}
