import type { Role } from '@crm/contracts';
import { mintDevToken } from './dev-token.ts';

/** Posts a realistic set of employees, customers, consents, deals and cases through the HTTP API. */
export async function loadDemoData(options: { url: string; jwtSecret: string; log?: (line: string) => void }): Promise<Record<string, number>> {
  const log = options.log ?? (() => {});
  const tokens = new Map<Role, string>();
  for (const role of ['hr', 'sales-rep', 'service-agent'] as const) {
    tokens.set(role, await mintDevToken(options.jwtSecret, { subject: `demo-${role}`, roles: [role] }));
  }
  const counts: Record<string, number> = {};
  const post = async (role: Role, type: string, body: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const response = await fetch(`${options.url}/v1/commands/${type}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.get(role)}` },
      body: JSON.stringify(body),
    });
    const answer = (await response.json()) as Record<string, unknown>;
    if (!response.ok) throw new Error(`${type} answered ${response.status}: ${String(answer.detail)}`);
    counts[type] = (counts[type] ?? 0) + 1;
    return answer;
  };
  const id = (answer: Record<string, unknown>, key = 'subjectId') => String(answer[key]);

  const employees = [
    { name: 'Jonas Becker', position: 'Account Executive', department: 'Sales', salaryBand: 'B4' },
    { name: 'Lea Hoffmann', position: 'Sales Manager', department: 'Sales', salaryBand: 'B6' },
    { name: 'Mehmet Yilmaz', position: 'Service Agent', department: 'Customer Service', salaryBand: 'B3' },
    { name: 'Sophie Wagner', position: 'Service Agent', department: 'Customer Service', salaryBand: 'B3' },
  ];
  const staff: string[] = [];
  for (const [i, e] of employees.entries()) {
    const email = `${e.name.toLowerCase().replace(/ /g, '.')}@demo-company.example`;
    staff.push(id(await post('hr', 'HireEmployee', { ...e, email, startDate: `202${i}-0${i + 2}-01` })));
  }
  const [rep, manager, agent1, agent2] = staff as [string, string, string, string];
  await post('hr', 'RecordAbsence', { employeeId: agent1, kind: 'vacation', from: '2026-08-03', to: '2026-08-14' });
  await post('hr', 'ChangeEmployeePosition', { employeeId: rep, position: 'Senior Account Executive', salaryBand: 'B5', effectiveDate: '2026-01-01' });

  const people = [
    { name: 'Erika Mustermann', email: 'erika.mustermann@example.org', phone: '+49 30 1234567', segment: 'consumer', city: 'Berlin' },
    { name: 'Max Schmidt', email: 'max.schmidt@example.net', phone: '+49 89 7654321', segment: 'consumer', city: 'München' },
    { name: 'Anna Fischer', email: 'anna.fischer@example.com', segment: 'small-business', city: 'Hamburg' },
    { name: 'Lukas Weber', email: 'lukas.weber@example.org', segment: 'consumer', city: 'Köln' },
    { name: 'Marie Schulz', phone: '+49 69 5550100', segment: 'small-business', city: 'Frankfurt am Main' },
  ];
  const customers: string[] = [];
  for (const [i, p] of people.entries()) {
    const { city, ...details } = p;
    const answer = await post('sales-rep', 'RegisterCustomer', {
      ...details,
      address: { street: `Hauptstraße ${i + 1}`, postalCode: `1011${i}`, city, country: 'DE' },
      lifecycleStage: i < 3 ? 'customer' : 'prospect',
      accountOwnerId: i % 2 === 0 ? rep : manager,
    });
    customers.push(id(answer));
  }
  const org = await post('sales-rep', 'RegisterOrganisation', {
    organisationName: 'Nordlicht Logistik GmbH',
    address: { street: 'Am Hafen 7', postalCode: '20457', city: 'Hamburg', country: 'DE' },
    segment: 'mid-market',
    lifecycleStage: 'customer',
    accountOwnerId: manager,
    contacts: [
      { name: 'Petra Krüger', email: 'p.krueger@nordlicht.example', jobTitle: 'Head of Procurement' },
      { name: 'Tobias Lang', phone: '+49 40 3330200', jobTitle: 'IT Lead' },
    ],
  });
  const orgId = id(org, 'customerId');
  const [orgContact] = org.contactSubjectIds as string[];

  const [erika, max, anna, lukas] = customers as [string, string, string, string];
  for (const customerId of [erika, max, anna]) {
    await post('sales-rep', 'GiveConsent', { customerId, purpose: 'marketing-email', legalBasis: 'consent', source: 'web-form', textVersion: '2026-03' });
  }
  await post('sales-rep', 'GiveConsent', { customerId: max, purpose: 'profiling', legalBasis: 'consent', source: 'web-form', textVersion: '2026-03' });
  await post('sales-rep', 'WithdrawConsent', { customerId: anna, purpose: 'marketing-email', source: 'email' });
  await post('sales-rep', 'ObjectToDirectMarketing', { customerId: lukas, source: 'phone-call' });
  await post('sales-rep', 'GiveConsent', { customerId: orgId, subjectId: orgContact, purpose: 'marketing-email', legalBasis: 'consent', source: 'in-person', textVersion: '2026-03' });

  const deals = [
    { customerId: orgId, title: 'Fleet tracking rollout', amountMinor: 4_800_000, ownerId: manager, outcome: 'won' },
    { customerId: erika, title: 'Premium support plan', amountMinor: 49_900, ownerId: rep, outcome: 'won' },
    { customerId: max, title: 'Home office bundle', amountMinor: 129_000, ownerId: rep, outcome: 'lost' },
    { customerId: anna, title: 'Bookkeeping add-on', amountMinor: 240_000, ownerId: rep, outcome: 'open' },
  ];
  for (const { outcome, ...deal } of deals) {
    const dealId = id(await post('sales-rep', 'OpenDeal', { ...deal, currency: 'EUR' }), 'dealId');
    await post('sales-rep', 'MoveDealStage', { dealId, stage: 'proposal' });
    if (outcome === 'won') await post('sales-rep', 'WinDeal', { dealId });
    if (outcome === 'lost') await post('sales-rep', 'LoseDeal', { dealId, reason: 'price' });
  }

  const case1 = id(await post('service-agent', 'OpenServiceCase', { customerId: erika, channel: 'phone', summary: 'Invoice shows a wrong billing address', assignedAgentId: agent1 }), 'caseId');
  await post('service-agent', 'AddCaseNote', { caseId: case1, text: 'Customer called; address corrected in billing.', authorAgentId: agent1 });
  await post('service-agent', 'ResolveServiceCase', { caseId: case1, resolution: 'solved' });
  const case2 = id(await post('service-agent', 'OpenServiceCase', { customerId: orgId, subjectId: orgContact, channel: 'email', summary: 'Tracker devices offline since Monday' }), 'caseId');
  await post('service-agent', 'AssignServiceCase', { caseId: case2, agentId: agent2 });
  await post('service-agent', 'AddCaseNote', { caseId: case2, text: 'Firmware 2.3 rolled back; waiting for confirmation.', authorAgentId: agent2 });
  await post('service-agent', 'ResolveServiceCase', { caseId: case2, resolution: 'workaround' });
  await post('service-agent', 'ReopenServiceCase', { caseId: case2 });

  log(`Demo data loaded: ${Object.values(counts).reduce((a, b) => a + b, 0)} commands.`);
  return counts;
}
