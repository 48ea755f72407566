import type { CrmUnderTest } from './crm-under-test.ts';

/**
 * A valid body for every command type, against a freshly seeded world (an employee, a
 * person customer, an organisation, an open case, an open deal), so each can answer 2xx.
 * `marker` is put into every personal field, for plaintext scans.
 */
export async function seedWorld(crm: CrmUnderTest, marker = 'Seed') {
  const ok = async (type: string, body: Record<string, unknown>, role: Parameters<CrmUnderTest['command']>[2][number]) => {
    const answer = await crm.command(type, body, [role]);
    if (answer.status !== 200) throw new Error(`seeding ${type} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    return answer.body;
  };
  const employeeId = String((await ok('HireEmployee', hireEmployee(marker), 'hr')).subjectId);
  const customerId = String((await ok('RegisterCustomer', registerCustomer(marker, employeeId), 'sales-rep')).subjectId);
  const org = await ok('RegisterOrganisation', registerOrganisation(marker, employeeId), 'sales-rep');
  const organisationId = String(org.customerId);
  const contactSubjectId = String((org.contactSubjectIds as string[])[0]);
  const caseId = String((await ok('OpenServiceCase', { customerId, channel: 'phone', summary: `${marker} case summary`, assignedAgentId: employeeId }, 'service-agent')).caseId);
  const dealId = String((await ok('OpenDeal', { customerId, title: 'Renewal', amountMinor: 100_00, currency: 'EUR', ownerId: employeeId }, 'sales-rep')).dealId);
  return { employeeId, customerId, organisationId, contactSubjectId, caseId, dealId };
}

export type World = Awaited<ReturnType<typeof seedWorld>>;

export const hireEmployee = (marker: string) => ({
  name: `${marker} Employee`,
  email: `${marker.toLowerCase()}.employee@example.org`,
  phone: '+49 30 1234567',
  address: { street: `${marker} Street 1`, postalCode: '10115', city: `${marker} City`, country: 'DE' },
  dateOfBirth: '1990-01-01',
  position: 'Agent',
  department: 'Service',
  salaryBand: 'B3',
  startDate: '2020-01-01',
});

export const registerCustomer = (marker: string, accountOwnerId?: string) => ({
  name: `${marker} Customer`,
  email: `${marker.toLowerCase()}.customer@example.org`,
  phone: '+49 30 7654321',
  address: { street: `${marker} Road 2`, postalCode: '20095', city: `${marker} Town`, country: 'DE' },
  dateOfBirth: '1985-05-05',
  segment: 'consumer',
  ...(accountOwnerId ? { accountOwnerId } : {}),
});

export const registerOrganisation = (marker: string, accountOwnerId?: string) => ({
  organisationName: 'Example GmbH',
  segment: 'mid-market',
  ...(accountOwnerId ? { accountOwnerId } : {}),
  contacts: [{ name: `${marker} Contact`, email: `${marker.toLowerCase()}.contact@example.org`, phone: '+49 40 1112223', jobTitle: `${marker} Buyer` }],
});

/**
 * One valid body per command type. Each call makes bodies that succeed on the world as
 * seeded, in any order, except that state-changing pairs are ordered where it matters
 * (resolve before reopen; win consumes the deal, so win and lose get their own deals).
 */
export function validCommandBodies(world: World, marker = 'Seed'): Record<string, Record<string, unknown>> {
  const { employeeId, customerId, organisationId, contactSubjectId, caseId, dealId } = world;
  return {
    RegisterCustomer: registerCustomer(marker, employeeId),
    RegisterOrganisation: registerOrganisation(marker, employeeId),
    AddContactPerson: { customerId: organisationId, name: `${marker} Added`, email: `${marker.toLowerCase()}.added@example.org`, jobTitle: `${marker} Title` },
    RemoveContactPerson: { customerId: organisationId, subjectId: contactSubjectId },
    ChangeCustomerDetails: { customerId, name: `${marker} Renamed`, email: `${marker.toLowerCase()}.new@example.org` },
    ReclassifyCustomer: { customerId, lifecycleStage: 'customer' },
    AssignAccountOwner: { customerId, accountOwnerId: employeeId },
    GiveConsent: { customerId, purpose: 'profiling', legalBasis: 'consent', source: 'web-form', textVersion: '2026-01' },
    WithdrawConsent: { customerId, purpose: 'profiling', source: 'email' },
    ObjectToDirectMarketing: { customerId, source: 'phone-call' },
    OpenServiceCase: { customerId, channel: 'email', summary: `${marker} summary` },
    AddCaseNote: { caseId, text: `${marker} note text`, authorAgentId: employeeId },
    AssignServiceCase: { caseId, agentId: employeeId },
    ResolveServiceCase: { caseId, resolution: 'solved' },
    ReopenServiceCase: { caseId },
    OpenDeal: { customerId, title: 'Upsell', amountMinor: 500_00, currency: 'EUR', ownerId: employeeId },
    MoveDealStage: { dealId, stage: 'proposal' },
    WinDeal: { dealId },
    LoseDeal: { dealId, reason: 'competitor' },
    HireEmployee: hireEmployee(marker),
    ChangeEmployeePosition: { employeeId, position: 'Senior Agent', salaryBand: 'B4', effectiveDate: '2021-01-01' },
    RecordAbsence: { employeeId, kind: 'sick-leave', from: '2021-02-01', to: '2021-02-03' },
    EndEmployment: { employeeId, endDate: '2030-12-31', reason: 'resignation' },
  };
}
