import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { customerDecider, customerHandlers, type CustomerEvent } from './customer.ts';
import { dealHandlers, type DealEvent } from './deal.ts';
import { fold } from './decider.ts';
import { decisionSpec } from './decider-spec.ts';
import { employeeHandlers, type EmployeeEvent } from './employee.ts';
import { serviceCaseHandlers, type ServiceCaseEvent } from './service-case.ts';

const customerId = 'c-1';
const registered: CustomerEvent = {
  type: 'CustomerRegistered',
  data: { customerId, name: 'N', segment: 'consumer', lifecycleStage: 'lead' },
};
const objected: CustomerEvent = { type: 'DirectMarketingObjected', data: { customerId, subjectId: customerId, source: 'email' } };

describe('customer decider', () => {
  const giveConsent = decisionSpec(customerHandlers.GiveConsent);
  const consent = { customerId, purpose: 'marketing-email' as const, legalBasis: 'consent' as const, source: 'web-form' as const, textVersion: 't1' };

  test('consent is recorded for the person customer themselves', () => {
    giveConsent([registered]).when(consent).then([{ type: 'ConsentGiven', data: { ...consent, subjectId: customerId } }]);
  });

  test('marketing consent is refused after an objection to direct marketing (422)', () => {
    giveConsent([registered, objected]).when(consent).thenRefused('objected-to-direct-marketing');
  });

  test('consent for profiling is still possible after an objection to direct marketing', () => {
    giveConsent([registered, objected])
      .when({ ...consent, purpose: 'profiling' })
      .then([{ type: 'ConsentGiven', data: { ...consent, purpose: 'profiling', subjectId: customerId } }]);
  });

  test('an objection ends the direct-marketing consents in the state', () => {
    const given: CustomerEvent = { type: 'ConsentGiven', data: { ...consent, subjectId: customerId } };
    const state = fold(customerDecider, [registered, given, objected]);
    assert.ok(state.status === 'registered');
    assert.deepEqual(state.consents[customerId], []);
    assert.deepEqual(state.objected, [customerId]);
  });

  test('objecting twice records it once', () => {
    decisionSpec(customerHandlers.ObjectToDirectMarketing)([registered, objected]).when({ customerId, source: 'email' }).then([]);
  });

  test('an organisation needs the contact person named, and only its own', () => {
    const org: CustomerEvent = {
      type: 'OrganisationRegistered',
      data: { customerId, organisationName: 'O', segment: 'enterprise', lifecycleStage: 'lead', contacts: [{ subjectId: 's-1', name: 'A' }] },
    };
    giveConsent([org]).when(consent).thenRefused('subject-required');
    giveConsent([org]).when({ ...consent, subjectId: 's-2' }).thenRefused('subject-not-of-customer');
    giveConsent([org]).when({ ...consent, subjectId: 's-1' }).then([{ type: 'ConsentGiven', data: { ...consent, subjectId: 's-1' } }]);
  });

  test('folding events whose personal values were erased (null) gives the same state', () => {
    const erased: CustomerEvent = { type: 'CustomerRegistered', data: { ...registered.data, name: null } };
    assert.deepEqual(fold(customerDecider, [erased, objected]), fold(customerDecider, [registered, objected]));
  });
});

describe('service case decider', () => {
  const opened: ServiceCaseEvent = { type: 'ServiceCaseOpened', data: { caseId: 'k', customerId, subjectId: customerId, channel: 'phone', summary: 's' } };
  const resolved: ServiceCaseEvent = { type: 'ServiceCaseResolved', data: { caseId: 'k', resolution: 'solved' } };

  test('a resolved case cannot be resolved again (422)', () => {
    decisionSpec(serviceCaseHandlers.ResolveServiceCase)([opened, resolved]).when({ caseId: 'k', resolution: 'solved' }).thenRefused('case-already-resolved');
  });

  test('a resolved case can be reopened, then resolved', () => {
    decisionSpec(serviceCaseHandlers.ReopenServiceCase)([opened, resolved]).when({ caseId: 'k' }).then([{ type: 'ServiceCaseReopened', data: { caseId: 'k' } }]);
    decisionSpec(serviceCaseHandlers.ResolveServiceCase)([opened, resolved, { type: 'ServiceCaseReopened', data: { caseId: 'k' } }])
      .when({ caseId: 'k', resolution: 'workaround' })
      .then([{ type: 'ServiceCaseResolved', data: { caseId: 'k', resolution: 'workaround' } }]);
  });

  test('a note is sealed under the person the case concerns', () => {
    decisionSpec(serviceCaseHandlers.AddCaseNote)([opened])
      .when({ caseId: 'k', text: 'hello' })
      .then([{ type: 'CaseNoteAdded', data: { caseId: 'k', text: 'hello', noteId: '00000000-0000-7000-8000-000000000001', subjectId: customerId } }]);
  });
});

describe('deal decider', () => {
  const opened: DealEvent = {
    type: 'DealOpened',
    data: { dealId: 'd', customerId, title: 't', amountMinor: 1000, currency: 'EUR', ownerId: 'e', stage: 'qualification' },
  };
  const won: DealEvent = { type: 'DealWon', data: { dealId: 'd', amountMinor: 1000, currency: 'EUR', wonOn: '2026-05-04' } };

  test('a won deal cannot change stage (422)', () => {
    decisionSpec(dealHandlers.MoveDealStage)([opened, won]).when({ dealId: 'd', stage: 'proposal' }).thenRefused('deal-closed');
  });

  test('winning records the amount and the day', () => {
    decisionSpec(dealHandlers.WinDeal)([opened]).when({ dealId: 'd' }).then([won]);
  });

  test('a won deal cannot be lost', () => {
    decisionSpec(dealHandlers.LoseDeal)([opened, won]).when({ dealId: 'd', reason: 'price' }).thenRefused('deal-closed');
  });
});

describe('employee decider', () => {
  const hired: EmployeeEvent = {
    type: 'EmployeeHired',
    data: { employeeId: 'e', name: 'N', position: 'p', department: 'd', salaryBand: 'B1', startDate: '2020-01-01' },
  };
  const ended: EmployeeEvent = { type: 'EmploymentEnded', data: { employeeId: 'e', endDate: '2024-01-01', reason: 'resignation' } };

  test('a closed personnel file takes no more changes (422)', () => {
    decisionSpec(employeeHandlers.RecordAbsence)([hired, ended]).when({ employeeId: 'e', kind: 'vacation', from: '2024-02-01', to: '2024-02-02' }).thenRefused('employment-ended');
  });

  test('an employment cannot end before it started', () => {
    decisionSpec(employeeHandlers.EndEmployment)([hired]).when({ employeeId: 'e', endDate: '2019-12-31', reason: 'resignation' }).thenRefused('before-employment');
  });
});
